/* Subcommands of the postern binary: each takes main's argc/argv shifted so
 * that argv[0] is the subcommand name, and returns the exit status. */
#ifndef POSTERN_COMMANDS_H
#define POSTERN_COMMANDS_H

int cmd_replay(int argc, char **argv);
int cmd_verdicts(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif
