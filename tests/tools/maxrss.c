/*
 * maxrss.c - a helper for the CLI tests: "maxrss FILE CMD [ARG...]" runs
 * CMD, writes its peak resident memory in KiB (getrusage's ru_maxrss of
 * the child) to FILE, and exits as CMD did (128 + the signal if it was
 * killed).  GNU time's %M does the same, but is not always installed.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	FILE *f;
	pid_t pid;
	int st;

	if (argc < 3) {
		fprintf(stderr, "usage: maxrss FILE CMD [ARG...]\n");
		return 2;
	}
	if ((pid = fork()) < 0) {
		perror("maxrss: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror("maxrss: exec");
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) < 0) {
		perror("maxrss: wait4");
		return 1;
	}
	if (!(f = fopen(argv[1], "w")) || fprintf(f, "%ld\n", ru.ru_maxrss) < 0 ||
	    fclose(f) != 0) {
		perror("maxrss: cannot write the figure");
		return 1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
