# Sourced (not run) by recipes after their option defaults are set:
#   stage=0; nj=4; . utils/parse_options.sh
# Turns `--foo-bar value` into foo_bar=value for every variable already defined, rejects options
# that name no such variable. `--config file` sources a file of name=value lines (Kaldi), unless the
# script defines a variable `config` itself (steps that take a YAML config): then it sets it.
# Options come before positional arguments; `--` ends them. `--help` prints $help_message.

while [ $# -gt 0 ]; do
  case "$1" in
    --)
      shift
      break
      ;;
    --help|-h)
      if [ -n "${help_message:-}" ]; then printf '%s\n' "$help_message" >&2; else echo "No help for $0" >&2; fi
      exit 0
      ;;
    --*=*)
      echo "$0: write '--option value', not '$1'" >&2
      exit 1
      ;;
    --*)
      _po_name=$(printf '%s' "${1#--}" | tr - _)
      if ! printf '%s' "$_po_name" | grep -Eq '^[A-Za-z_][A-Za-z0-9_]*$'; then
        echo "$0: invalid option '$1'" >&2
        exit 1
      fi
      if [ $# -lt 2 ]; then
        echo "$0: option '$1' needs a value" >&2
        exit 1
      fi
      if [ "$_po_name" = config ] && eval "[ -z \"\${config+set}\" ]"; then
        if [ ! -f "$2" ]; then echo "$0: config file '$2' not found" >&2; exit 1; fi
        # shellcheck disable=SC1090
        . "$2" || { echo "$0: error in config file '$2'" >&2; exit 1; }
      elif eval "[ -z \"\${$_po_name+set}\" ]"; then
        echo "$0: unknown option '$1'" >&2
        exit 1
      else
        _po_old=$(eval "printf '%s' \"\$$_po_name\"")
        # Boolean options accept only true/false, as in Kaldi.
        if { [ "$_po_old" = true ] || [ "$_po_old" = false ]; } && [ "$2" != true ] && [ "$2" != false ]; then
          echo "$0: option '$1' takes true or false, not '$2'" >&2
          exit 1
        fi
        eval "$_po_name=\"\$2\""
      fi
      shift 2
      ;;
    *)
      break
      ;;
  esac
done
unset _po_name _po_old
true
