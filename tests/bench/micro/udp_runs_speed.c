// Sends 1 GiB over loopback in datagrams of SEG bytes, one sendmsg each or in
// UDP_SEGMENT runs of up to 60 KiB, to a forked receiver (optionally with
// UDP_GRO), and prints the CPU time of both ends.
// Build: gcc -O2 -o /tmp/udp_runs_speed udp_runs_speed.c
// Run:   /tmp/udp_runs_speed single 4096; /tmp/udp_runs_speed runs 4096; /tmp/udp_runs_speed runs 4096 gro
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s single|runs SEG [gro]\n", argv[0]);
    return 2;
  }
  const int runs = strcmp(argv[1], "runs") == 0;
  const int seg = atoi(argv[2]);
  const long total = 1L << 30;
  int rx = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
  socklen_t alen = sizeof a;
  int big = 64 << 20;
  if (bind(rx, (struct sockaddr*)&a, sizeof a) != 0 || getsockname(rx, (struct sockaddr*)&a, &alen) != 0) return 1;
  setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  if (argc > 3) {
    int one = 1;
    setsockopt(rx, SOL_UDP, UDP_GRO, &one, sizeof one);
  }
  pid_t child = fork();
  if (child == 0) {
    static char buf[65536];
    long got = 0;
    struct timeval tv = {1, 0};  // a second of silence ends the receiver
    setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (;;) {
      ssize_t n = recv(rx, buf, sizeof buf, 0);
      if (n < 0) break;
      got += n;
    }
    printf("receiver: %.0f MB, cpu %.2f s\n", got / 1e6, cpu_seconds());
    return 0;
  }
  int tx = socket(AF_INET, SOCK_DGRAM, 0);
  if (connect(tx, (struct sockaddr*)&a, sizeof a) != 0) return 1;
  setsockopt(tx, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
  if (runs) setsockopt(tx, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg);
  const int per_send = runs ? (61440 / seg) * seg : seg;
  char* buf = calloc(1, 65536);
  long sent = 0;
  for (long tries = 0; sent < total && tries < 100000000L; ++tries) {
    ssize_t n = send(tx, buf, (size_t)per_send, 0);
    if (n > 0) sent += n;
    else usleep(50);
  }
  printf("sender (%s, %d-byte datagrams): cpu %.2f s\n", runs ? "runs" : "single", seg, cpu_seconds());
  waitpid(child, NULL, 0);
  free(buf);
  return 0;
}
