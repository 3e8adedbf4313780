/* postern: inline inspector for mail on the wire.  Entry point: dispatch to
 * the subcommand. */
#include <stdio.h>
#include <string.h>

#include "postern/commands.h"

#ifndef POSTERN_VERSION
#define POSTERN_VERSION "unknown"
#endif

static const char usage[] =
	"Usage: postern COMMAND [OPTIONS] [ARGS]\n"
	"\n"
	"postern rebuilds TCP streams, reconstructs SMTP mail sessions, inspects\n"
	"each message (rules, DLP, attachments, antivirus, block lists) and reports\n"
	"each transaction with its verdict, and each connection, as a JSON event.\n"
	"\n"
	"Commands:\n"
	"  replay FILE...   run pcap/pcapng captures through the pipeline and print\n"
	"                   the events (see 'postern replay --help')\n"
	"  run --config FILE [--queues A-B]\n"
	"                   run inline on NFQUEUE queues and enforce the verdicts\n"
	"                   (see 'postern run --help')\n"
	"  check RULES [CONFIG]\n"
	"                   validate a rules file and a configuration, naming\n"
	"                   file, line and reason for every error\n"
	"  verdicts         list the stored verdicts (see 'postern verdicts --help')\n"
	"  version          print the version\n"
	"  help             show this help\n"
	"\n"
	"Options:\n"
	"  -h, --help       show this help\n"
	"  -V, --version    print the version\n";

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
	{"replay", cmd_replay},
	{"check", cmd_check},
	{"run", cmd_run},
	{"verdicts", cmd_verdicts},
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	const char *name = argv[1];
	if (!strcmp(name, "help") || !strcmp(name, "-h") || !strcmp(name, "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(name, "version") || !strcmp(name, "-V") || !strcmp(name, "--version")) {
		printf("postern %s\n", POSTERN_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(name, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "postern: unknown command '%s' (try 'postern --help')\n", name);
	return 2;
}
