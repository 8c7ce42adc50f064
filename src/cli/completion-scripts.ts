/**
 * The scripts `ncx completion bash|zsh|fish` prints. Each one hands the words typed so far
 * to `ncx __complete` (see complete.ts for the protocol) and feeds its answer to the shell;
 * no answer means "complete file names". They call the same `ncx` the user typed, so a
 * wrapper or alias keeps working.
 */

export const SHELLS = ['bash', 'zsh', 'fish'] as const
export type Shell = (typeof SHELLS)[number]

const BASH = `# ncx completion for bash. Load it with:  source <(ncx completion bash)
# or install it:  ncx completion bash > ~/.local/share/bash-completion/completions/ncx
_ncx_complete() {
  local line="\${COMP_LINE:0:COMP_POINT}" cur="\${COMP_WORDS[COMP_CWORD]}"
  local -a words
  read -r -a words <<< "$line"
  [[ "$line" =~ [[:space:]]$ ]] && words+=("")
  local token="\${words[\${#words[@]}-1]}"
  # bash splits the current word at COMP_WORDBREAKS (= and :); candidates are whole
  # words, so strip what bash already considers typed (e.g. "--network=" or "busybox:").
  local strip="\${token:0:\${#token}-\${#cur}}"
  [[ "$cur" == "=" || "$cur" == ":" ]] && strip="$token"
  local IFS=$'\\n' c
  local -a out
  out=($("\${words[0]}" __complete "\${words[@]:1}" 2>/dev/null | cut -f1))
  COMPREPLY=()
  for c in "\${out[@]}"; do
    COMPREPLY+=("\${c#"$strip"}")
  done
  if [[ \${#COMPREPLY[@]} -eq 1 && "\${COMPREPLY[0]}" == *[=:/] ]]; then compopt -o nospace 2>/dev/null; fi
  return 0
}
complete -o default -o bashdefault -F _ncx_complete ncx
`

const ZSH = `#compdef ncx
# ncx completion for zsh. Load it with:  source <(ncx completion zsh)
# or install it as _ncx in a directory of $fpath.
_ncx() {
  local -a lines vals descs
  local line v d
  lines=("\${(@f)$(\${words[1]} __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  for line in "\${lines[@]}"; do
    [[ -z "$line" ]] && continue
    v="\${line%%$'\\t'*}"
    if [[ "$line" == *$'\\t'* ]]; then d="$v  -- \${line#*$'\\t'}"; else d="$v"; fi
    vals+=("$v"); descs+=("$d")
  done
  if (( \${#vals} == 0 )); then
    _files
    return
  fi
  if (( \${#vals} == 1 )) && [[ "\${vals[1]}" == *[=:/] ]]; then
    compadd -Q -S '' -l -d descs -a vals
  else
    compadd -Q -l -d descs -a vals
  fi
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then _ncx "$@"; else compdef _ncx ncx; fi
`

const FISH = `# ncx completion for fish. Load it with:  ncx completion fish | source
# or install it:  ncx completion fish > ~/.config/fish/completions/ncx.fish
function __ncx_complete
    set -l words (commandline -opc)
    set -l current (commandline -ct)
    set -l out ($words[1] __complete $words[2..-1] $current 2>/dev/null)
    if test (count $out) -eq 0
        __fish_complete_path $current
        return
    end
    printf '%s\\n' $out
end
complete -c ncx -f -a '(__ncx_complete)'
`

export function completionScript(shell: Shell): string {
  return shell === 'bash' ? BASH : shell === 'zsh' ? ZSH : FISH
}
