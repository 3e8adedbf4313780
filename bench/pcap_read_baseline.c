/* pcap_read_baseline: the cost of reading a capture with libpcap and nothing
 * else, the floor under `postern replay`.  Reads every FILE with
 * pcap_next_ex(), sums the captured bytes and touches the first and last byte
 * of each frame so the loop cannot be optimised away, then prints
 * "packets=N bytes=N checksum=N" on standard output.  It reads through the
 * same 1 MiB stdio buffer as postern replay, so the two compare like for like. */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	uint64_t packets = 0, bytes = 0, check = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: pcap_read_baseline FILE...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		char err[PCAP_ERRBUF_SIZE];
		static char filebuf[1 << 20];
		FILE *fp = fopen(argv[i], "rb");
		if (!fp) {
			perror(argv[i]);
			return 2;
		}
		setvbuf(fp, filebuf, _IOFBF, sizeof filebuf);
		pcap_t *p = pcap_fopen_offline(fp, err);
		if (!p) {
			fclose(fp);
			fprintf(stderr, "pcap_read_baseline: %s: %s\n", argv[i], err);
			return 2;
		}
		struct pcap_pkthdr *h;
		const u_char *data;
		int rc;
		while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
			packets++;
			bytes += h->caplen;
			if (h->caplen)
				check += (uint64_t)data[0] + data[h->caplen - 1];
		}
		if (rc == PCAP_ERROR) {
			fprintf(stderr, "pcap_read_baseline: %s: %s\n", argv[i], pcap_geterr(p));
			pcap_close(p);
			return 1;
		}
		pcap_close(p);
	}
	printf("packets=%" PRIu64 " bytes=%" PRIu64 " checksum=%" PRIu64 "\n", packets, bytes, check);
	return 0;
}
