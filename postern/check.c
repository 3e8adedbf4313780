/* postern check: validate a rules file (and a configuration with everything
 * it names) without running anything, for operators before a reload and for
 * CI of policy repositories. */
#include "postern/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "policy/mail_scan.h"
#include "policy/rules.h"
#include "postern/cli_util.h"
#include "webmail/webmail.h"

static const char check_usage[] =
	"Usage: postern check [OPTIONS] RULES [CONFIG]\n"
	"\n"
	"Validate and compile the rules file RULES (docs/rules.md).  With CONFIG,\n"
	"also load the configuration (docs/configuration.md) and everything it\n"
	"names: its rules files, the attachment hash list and the ClamAV signature\n"
	"directory.  Every error is printed as FILE:LINE: reason; all errors are\n"
	"reported, not only the first.\n"
	"\n"
	"Options:\n"
	"  -q, --quiet    print errors only\n"
	"  -h, --help     show this help\n"
	"\n"
	"Exit status: 0 when everything is valid, 1 when errors were found,\n"
	"2 on usage errors.\n";

static const struct option check_options[] = {
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void print_errors(const struct rule_errors *e)
{
	for (size_t i = 0; i < e->count; i++) {
		if (e->v[i].line)
			fprintf(stderr, "%s:%u: %s\n", e->v[i].file, e->v[i].line, e->v[i].reason);
		else
			fprintf(stderr, "%s: %s\n", e->v[i].file, e->v[i].reason);
	}
	if (e->dropped)
		fprintf(stderr, "... %zu more errors not shown\n", e->dropped);
}

static void describe(const char *path, const struct ruleset *rs)
{
	size_t per_scope[SCOPE_COUNT] = {0};
	size_t n = ruleset_count(rs), reset = 0;
	for (size_t i = 0; i < n; i++) {
		const struct rule *r = ruleset_rule(rs, i);
		for (int s = 0; s < SCOPE_COUNT; s++)
			if (r->scopes & (1u << s))
				per_scope[s]++;
		if (r->action == RULE_ACTION_RESET)
			reset++;
	}
	printf("%s: OK, %zu rules (%zu reset, %zu alert), %zu bytes of compiled databases\n", path,
	       n, reset, n - reset, ruleset_db_bytes(rs));
	for (int s = 0; s < SCOPE_COUNT; s++)
		if (per_scope[s])
			printf("  %-20s %zu rules\n", rule_scope_name(s), per_scope[s]);
}

int cmd_check(int argc, char **argv)
{
	bool quiet = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", check_options, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(check_usage, stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'postern check --help'.\n");
			return 2;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		cli_error("check: give a rules file and optionally a config file "
			  "(try 'postern check --help')");
		return 2;
	}
	const char *rules_path = argv[optind];
	const char *config_path = argc - optind == 2 ? argv[optind + 1] : NULL;
	int status = 0;

	struct rule_errors errs;
	rule_errors_init(&errs, 256);
	struct ruleset *rs = ruleset_load(rules_path, &errs);
	print_errors(&errs);
	rule_errors_free(&errs);
	if (rs) {
		if (!quiet)
			describe(rules_path, rs);
		ruleset_free(rs);
	} else {
		status = 1;
	}

	if (config_path) {
		struct postern_config pc;
		char err[1024];
		config_default(&pc);
		if (config_load(&pc, config_path, err, sizeof err) < 0) {
			fprintf(stderr, "%s\n", err);
			status = 1;
		} else {
			/* Everything the config names, exactly as replay and the daemon load it. */
			struct mail_policy mp;
			if (mail_policy_load(&mp, &pc, stderr) < 0) {
				status = 1;
			} else {
				if (!quiet)
					printf("%s: OK, %zu rules files, %zu listed hashes, %u ClamAV "
					       "signatures, %zu internal networks, block lists %s\n",
					       config_path, mp.ruleset_count,
					       attachment_engine_hashes(mp.attachments),
					       attachment_engine_av_signatures(mp.attachments),
					       pc.internal.count, pc.rbl_enabled ? "on" : "off");
				if (!quiet && pc.webmail.enabled)
					printf("%s: webmail: %zu signatures of %zu products, %zu services, "
					       "block page %s\n",
					       config_path, webmail_signatures_count(mp.webmail),
					       webmail_signatures_products(mp.webmail), pc.webmail.service_count,
					       pc.webmail.block_page ? pc.webmail.block_page : "none");
				mail_policy_free(&mp);
			}
		}
		config_free(&pc);
	}
	return status;
}
