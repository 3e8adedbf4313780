/* Host names as policy compares them. */
#ifndef POSTERN_COMMON_HOSTNAME_H
#define POSTERN_COMMON_HOSTNAME_H

#include <stddef.h>

/* Host name to its lower-case IDNA A-label form without trailing dot or
 * port: "Mail.Example.COM." -> "mail.example.com", "mail.例え.jp" ->
 * "mail.xn--r8jz45g.jp", "[2001:db8::1]:8080" -> "2001:db8::1".  IP address
 * literals are returned as is (lower case).  Returns the length, or -1 when it
 * is not a valid host name (IDNA2008 via libidn2, label and name lengths) or
 * does not fit in cap (out is then ""). */
int host_normalize(const char *host, char *out, size_t cap);

/* Is name equal to domain, or a subdomain of it (label boundary)?  Both
 * normalised. */
int host_in_domain(const char *name, const char *domain);

#endif
