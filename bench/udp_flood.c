// SPDX-License-Identifier: GPL-2.0
/* udp_flood ADDR PORT COUNT: sends COUNT small UDP datagrams as fast as
 * sendmmsg allows (the drop storm of deno task bench). Prints the count sent;
 * on stderr, the seconds it took. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256

int main(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct mmsghdr msgs[BATCH];
	struct iovec iov;
	char payload[16] = "nettrace-bench";
	long count, sent = 0;
	int fd, i;
	struct timespec t0, t1;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: udp_flood IPV4 PORT COUNT\n");
		return 2;
	}
	dst.sin_port = htons(atoi(argv[2]));
	count = atol(argv[3]);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		perror("socket");
		return 1;
	}
	iov.iov_base = payload;
	iov.iov_len = sizeof(payload);
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (sent < count) {
		int n = count - sent < BATCH ? count - sent : BATCH;
		int r = sendmmsg(fd, msgs, n, 0);

		if (r < 0)
			continue; /* ECONNREFUSED from an ICMP port unreachable: keep going */
		sent += r;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%ld\n", sent);
	fprintf(stderr, "%.6f\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
