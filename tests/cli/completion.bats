#!/usr/bin/env bats
# The shared bash completion: every tool completes topic names from the
# data directory named by -d, --dir= or $MQ_DIR, and its own options.

load helper

# complete_line LINE: runs the completion bash would run for LINE.
complete_line() {
	bash -c 'source "$1"; read -ra COMP_WORDS <<< "$2"
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
		f=$(complete -p "${COMP_WORDS[0]}" | awk "{print \$3}")
		"$f"; printf "%s\n" "${COMPREPLY[@]}"' _ \
		"$BATS_TEST_DIRNAME/../../completions/mq.bash" "$1"
}

@test "every tool completes topic names from \$MQ_DIR" {
	mq-create orders
	mq-create other
	mq-create logs
	for t in "mq-create --delete" mq-produce mq-consume mq-inspect mq-retain \
	    mq-compact mq-repair; do
		run complete_line "$t o"
		[ "$status" -eq 0 ]
		[ "$output" = "$(printf 'orders\nother')" ]
	done
}

@test "completion reads the data directory from -d and --dir=" {
	d=$(mktemp -d)
	mq-create -d "$d" elsewhere
	run complete_line "mq-consume -d $d e"
	[ "$output" = "elsewhere" ]
	run complete_line "mq-inspect --dir=$d e"
	[ "$output" = "elsewhere" ]
	rm -rf "$d"
}

@test "mq-create completes no topic for a name it is to create" {
	mq-create orders
	run complete_line "mq-create o"
	[ "$output" = "" ]
}

@test "completion offers options" {
	run complete_line "mq-consume --fo"
	[ "$output" = "$(printf -- '--follow\n--format')" ]
	run complete_line "mq-repair --d"
	[ "$output" = "$(printf -- '--dir\n--dry-run')" ]
}
