#!/usr/bin/env node
// Entry point of the operator CLI (`attestamp`).
import { main } from './main.js';
import { processIo } from './output.js';
import { endQuietlyOnClosedPipe } from './pipe.js';

endQuietlyOnClosedPipe();
process.exitCode = await main(process.argv.slice(2), processIo);
