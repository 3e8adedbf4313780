/* libFuzzer target for the configuration loader and the network set.
 *
 * The input is loaded as a configuration file (base_dir "/nonexistent"), then
 * each of its lines is given to netset_add.  Invariants checked: a load
 * either succeeds with every list within its cap and every string set, or
 * fails with a "fuzz.conf" message; an added network contains its own
 * address, has no host bits set and is within its family's prefix length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/config.h"

static void check_loaded(const struct postern_config *c)
{
	if (c->rule_file_count > CONFIG_MAX_RULE_FILES)
		abort();
	for (size_t i = 0; i < c->rule_file_count; i++)
		if (!c->rule_files[i] || strncmp(c->rule_files[i], "/", 1) != 0)
			abort(); /* relative paths were resolved against /nonexistent */
	for (size_t i = 0; i < c->attachments.blocked_extension_count; i++)
		if (!c->attachments.blocked_extensions[i] || !c->attachments.blocked_extensions[i][0])
			abort();
	for (size_t i = 0; i < c->rbl.list_count; i++)
		if (!c->rbl.lists[i].zone || !c->rbl.lists[i].zone[0] || c->rbl.lists[i].weight < 0)
			abort();
	if (!c->store.path || c->rbl.threshold < 1 || c->rbl.min_ttl > c->rbl.max_ttl ||
	    c->smtp_port_count == 0 || c->smtp_port_count > 16 ||
	    c->store.batch_records > c->store.queue_records || c->smtp.max_message != c->max_message)
		abort();
	for (size_t i = 0; i < c->internal.count; i++)
		if (!netset_contains(&c->internal, c->internal.v[i].family, c->internal.v[i].addr))
			abort();
}

/* libconfig 1.5 leaks the buffer of a string token that causes a syntax
 * error (e.g. a file that is just ""): a bug of the library, bounded by the
 * file size and only on a failed load.  Leaks with libconfig on the stack are
 * suppressed; every other leak still fails the run. */
const char *__lsan_default_suppressions(void);
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct postern_config c;
	char err[1024];
	if (config_load_mem(&c, "fuzz.conf", "/nonexistent", (const char *)data, size, err,
			    sizeof err) == 0) {
		check_loaded(&c);
	} else if (strncmp(err, "fuzz.conf", 9) != 0) {
		abort();
	}
	config_free(&c);

	struct netset s = {0};
	char line[128];
	size_t start = 0;
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		size_t n = i - start;
		if (n < sizeof line) {
			memcpy(line, data + start, n);
			line[n] = '\0';
			if (netset_add(&s, line, err, sizeof err) == 0) {
				const struct netset_entry *e = &s.v[s.count - 1];
				unsigned max = e->family == AF_INET ? 32 : 128;
				if (e->prefix > max || !netset_contains(&s, e->family, e->addr))
					abort();
				for (unsigned b = e->prefix; b < max; b++)
					if (e->addr[b / 8] & (0x80u >> (b % 8)))
						abort();
			} else if (!err[0]) {
				abort();
			}
		}
		start = i + 1;
	}
	netset_free(&s);
	return 0;
}
