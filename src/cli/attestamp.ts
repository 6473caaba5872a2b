#!/usr/bin/env node
// Entry point of the operator CLI (`attestamp`).
import { main } from './main.js';
import { processIo } from './output.js';

process.exitCode = await main(process.argv.slice(2), processIo);
