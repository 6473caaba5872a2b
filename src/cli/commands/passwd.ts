// `attestamp tsa passwd USER`: prints a password-file line for HTTP Basic (RFC 7617) with the
// password stretched by scrypt. The password comes from a file or standard input, never from
// argv (which other users can read in the process list, and shells keep in their history).
import { readFileSync } from 'node:fs';
import { hashPassword } from '../../tsa/index.js';
import { stringOption, type Command } from '../command.js';
import { readSecretFile } from '../context.js';
import { EXIT, InputError, UsageError } from '../exit-codes.js';

/** Shorter passwords are refused: Basic credentials travel with every request. */
const MIN_PASSWORD = 12;

function readStdin(): string {
  if (process.stdin.isTTY) {
    throw new UsageError('pipe the password on standard input, or give --password-file');
  }
  try {
    return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  } catch {
    throw new InputError('cannot read the password from standard input');
  }
}

export const tsaPasswd: Command = {
  path: ['tsa', 'passwd'],
  summary: 'Print a USER:scrypt$... line for the --auth-basic-file password file.',
  positionals: ['USER'],
  details: `Reads the password from --password-file or standard input (one line), and prints
USER:scrypt$N$r$p$SALT$HASH (scrypt N=2^15, r=8, p=1, a random 16-byte salt). Append it to the
password file: attestamp tsa passwd alice < alice.password >> users.passwd`,
  options: {
    'password-file': {
      type: 'string',
      value: 'FILE',
      description: 'read the password from FILE instead of standard input',
    },
  },
  async run(inv) {
    const user = inv.positionals[0]!;
    // RFC 7617 2: the user-id cannot contain a colon; no blanks, so that lines stay parseable.
    if (!/^[^\s:]{1,128}$/.test(user)) {
      throw new UsageError('USER must be 1 to 128 characters without colons or blanks');
    }
    const file = stringOption(inv, 'password-file');
    const password = file === undefined ? readStdin() : readSecretFile(file, 'password');
    if (Array.from(password).length < MIN_PASSWORD) {
      throw new InputError(`the password needs at least ${MIN_PASSWORD} characters`);
    }
    inv.io.stdout(`${user}:${await hashPassword(password)}\n`);
    return EXIT.ok;
  },
};
