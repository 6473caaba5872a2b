// Test setup: @peculiar/x509 needs the Reflect metadata polyfill before first use.
import 'reflect-metadata';
