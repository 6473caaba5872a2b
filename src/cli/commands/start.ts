// `attestamp start`: the newcomer's one command. Initialises the embedded default when there is no
// store yet, prints the status, and serves (a module of its own so that `init` and `status` do
// not load the server).
import { flag, type Command, type Invocation } from '../command.js';
import { loadServerConfig, SERVER_OPTIONS } from '../config.js';
import { printStatus, runInit, statusReport } from './device.js';
import { serveUntilSignal } from './serve.js';

export const start: Command = {
  path: ['start'],
  summary: 'Initialise the embedded default if needed, then serve the TSA (see serve --help).',
  positionals: [],
  options: { ...SERVER_OPTIONS },
  async run(inv) {
    const config = loadServerConfig(inv);
    const withIfNeeded: Invocation = { ...inv, options: { ...inv.options, 'if-needed': true } };
    const json = flag(inv, 'json');
    const { created } = await runInit(withIfNeeded, json);
    if (!created && !json) inv.io.stdout('device store found; not initialising again\n');
    if (!json) printStatus(inv, await statusReport(inv));
    return serveUntilSignal(inv, config);
  },
};
