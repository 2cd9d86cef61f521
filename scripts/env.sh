# Shared by the scripts: one build directory per machine, so repeated runs reuse builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chipbench/target}"
export CARGO_PROFILE_DEV_DEBUG=0
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
