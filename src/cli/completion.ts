// Shell completion scripts for bash and zsh, generated from the one command table, so that a
// new command or option completes without a second list to keep in step.
import { COMMON_OPTIONS, type Command } from './command.js';

function optionWords(c: Command): string[] {
  return Object.keys({ ...c.options, ...COMMON_OPTIONS }).map((n) => `--${n}`);
}

/** Every command path prefix ('' for the top level) mapped to the words that may follow it. */
function table(commands: readonly Command[]): Map<string, Set<string>> {
  const next = new Map<string, Set<string>>();
  const add = (key: string, word: string): void => {
    const set = next.get(key) ?? new Set<string>();
    set.add(word);
    next.set(key, set);
  };
  add('', 'completion');
  add('completion', 'bash');
  add('completion', 'zsh');
  for (const c of commands) {
    c.path.forEach((word, i) => {
      add(c.path.slice(0, i).join(' '), word);
    });
    for (const o of optionWords(c)) add(c.path.join(' '), o);
  }
  return next;
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function completionScript(shell: 'bash' | 'zsh', commands: readonly Command[]): string {
  const entries = [...table(commands)].map(
    ([key, words]) => `    ${quote(key)}) words=${quote([...words].join(' '))} ;;`,
  );
  const body = [
    '_attestamp_words() {',
    '  # the command words typed so far, options skipped; then the longest known prefix',
    '  local key="" w words',
    '  for w in "$@"; do case "$w" in -*) ;; *) key="${key:+$key }$w" ;; esac; done',
    '  while :; do',
    '    words=""',
    '    case "$key" in',
    ...entries,
    '    esac',
    '    if [ -n "$words" ] || [ -z "$key" ]; then break; fi',
    '    case "$key" in *" "*) key="${key% *}" ;; *) key="" ;; esac',
    '  done',
    '  printf \'%s\' "$words"',
    '}',
  ];
  if (shell === 'bash') {
    return [
      '# bash completion for attestamp: source <(attestamp completion bash)',
      ...body,
      '_attestamp() {',
      '  local cur="${COMP_WORDS[COMP_CWORD]}"',
      '  COMPREPLY=( $(compgen -W "$(_attestamp_words "${COMP_WORDS[@]:1:COMP_CWORD-1}")" -- "$cur") )',
      '}',
      'complete -o default -F _attestamp attestamp',
      '',
    ].join('\n');
  }
  return [
    '#compdef attestamp',
    '# zsh completion for attestamp: attestamp completion zsh > "${fpath[1]}/_attestamp"',
    ...body,
    '_attestamp() {',
    '  local -a choices',
    '  choices=( ${(s: :)"$(_attestamp_words "${(@)words[2,CURRENT-1]}")"} )',
    '  compadd -- $choices',
    '}',
    'compdef _attestamp attestamp',
    '',
  ].join('\n');
}
