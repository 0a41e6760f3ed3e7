/* hook_dns_resapi: asks the DNS through glibc's res_* API directly — never through
 * getaddrinfo/gethostbyname — each request in a fresh thread (a fresh `_res`). One line:
 *   "MODE rcode=N answer=A.B.C.D|-"  on an answer (N: the header's rcode)
 *   "MODE ERR h_errno=N"              when the call failed (1 HOST_NOT_FOUND = NXDOMAIN,
 *                                     2 TRY_AGAIN = no answer/SERVFAIL, 3 NO_RECOVERY =
 *                                     REFUSED…, -1 NETDB_INTERNAL)
 * Modes (NAME is asked for an A record, class IN):
 *   query NAME             res_query (this thread's _res, never initialised before)
 *   search NAME            res_search
 *   querydomain NAME DOM   res_querydomain(NAME, DOM)
 *   send NAME              res_mkquery + res_send of the hand-made packet
 *   initquery NAME IP      res_init, then _res's servers set by hand to IP:53, res_query
 *   vcquery NAME           res_init, RES_USEVC (TCP) in _res.options, res_query
 *   gaia NAME              getaddrinfo_a(GAI_WAIT) of NAME (IPv4): "gaia OK A.B.C.D" /
 *                          "gaia ERR EAI" (gai_error of the request)
 *   gaianowait NAME        the same with GAI_NOWAIT and a SIGEV_THREAD notification,
 *                          waited for (semaphore), then gai_error: "gaianowait OK …"
 *   gaisignal NAME         GAI_NOWAIT with a SIGEV_SIGNAL (SIGRTMIN, blocked, taken with
 *                          sigwaitinfo): "gaisignal OK A.B.C.D code=SI_ASYNCNL value=ok"
 *   nquery NAME            res_ninit on a state of our own, then res_nquery
 *   nsearch NAME           res_ninit, res_nsearch
 *   nquerydomain NAME DOM  res_ninit, res_nquerydomain
 *   nsend NAME IP          res_ninit, then the state's servers set by hand to IP:53 (two
 *                          slots), res_nmkquery + res_nsend
 *   ptr IP                 getnameinfo(NI_NAMEREQD) of IP: "ptr OK NAME" / "ptr ERR EAI"
 *   hostbyaddr IP          gethostbyaddr of IP: "hostbyaddr OK NAME" / "… ERR h_errno=N"
 * Exit 0 when the line was printed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static sem_t g_gai_done;

/* SIGEV_THREAD notification of getaddrinfo_a: the request it names is done. */
static void gai_done(union sigval v) {
  if (v.sival_ptr != NULL) sem_post(&g_gai_done);
}

static int g_argc;
static char** g_argv;

/* The first A record of an answer packet, or "-". */
static void first_a(const unsigned char* msg, int len, char* out, size_t outlen) {
  snprintf(out, outlen, "-");
  if (len < HFIXEDSZ) return;
  const unsigned char* end = msg + len;
  const unsigned char* p = msg + HFIXEDSZ;
  int qd = (msg[4] << 8) | msg[5], an = (msg[6] << 8) | msg[7];
  for (int i = 0; i < qd; ++i) {
    int n = dn_skipname(p, end);
    if (n < 0 || p + n + 4 > end) return;
    p += n + 4;
  }
  for (int i = 0; i < an; ++i) {
    int n = dn_skipname(p, end);
    if (n < 0 || p + n + 10 > end) return;
    p += n;
    int type = (p[0] << 8) | p[1], rdlen = (p[8] << 8) | p[9];
    p += 10;
    if (p + rdlen > end) return;
    if (type == ns_t_a && rdlen == 4) {
      inet_ntop(AF_INET, p, out, (socklen_t)outlen);
      return;
    }
    p += rdlen;
  }
}

static void report(const char* mode, int r, const unsigned char* ans) {
  if (r < 0) {
    printf("%s ERR h_errno=%d\n", mode, h_errno);
    return;
  }
  char a[64];
  first_a(ans, r, a, sizeof a);
  printf("%s rcode=%d answer=%s\n", mode, r >= HFIXEDSZ ? (ans[3] & 0x0f) : -1, a);
}

static void set_server(res_state st, const char* ip) {
  memset(&st->nsaddr_list[0], 0, sizeof st->nsaddr_list[0]);
  st->nsaddr_list[0].sin_family = AF_INET;
  st->nsaddr_list[0].sin_port = htons(53);
  inet_pton(AF_INET, ip, &st->nsaddr_list[0].sin_addr);
  st->nscount = 1;
}

static void* run(void* unused) {
  (void)unused;
  const char* mode = g_argv[1];
  const char* name = g_argv[2];
  unsigned char ans[4096];
  if (strcmp(mode, "query") == 0) {
    report(mode, res_query(name, ns_c_in, ns_t_a, ans, sizeof ans), ans);
  } else if (strcmp(mode, "search") == 0) {
    report(mode, res_search(name, ns_c_in, ns_t_a, ans, sizeof ans), ans);
  } else if (strcmp(mode, "querydomain") == 0 && g_argc > 3) {
    report(mode, res_querydomain(name, g_argv[3], ns_c_in, ns_t_a, ans, sizeof ans), ans);
  } else if (strcmp(mode, "send") == 0) {
    unsigned char q[512];
    int ql = res_mkquery(ns_o_query, name, ns_c_in, ns_t_a, NULL, 0, NULL, q, sizeof q);
    if (ql < 0) {
      printf("send ERR mkquery\n");
      return NULL;
    }
    report(mode, res_send(q, ql, ans, sizeof ans), ans);
  } else if (strcmp(mode, "initquery") == 0 && g_argc > 3) {
    if (res_init() != 0) {
      printf("initquery ERR res_init\n");
      return NULL;
    }
    set_server(&_res, g_argv[3]);
    report(mode, res_query(name, ns_c_in, ns_t_a, ans, sizeof ans), ans);
  } else if (strcmp(mode, "vcquery") == 0) {
    if (res_init() != 0) {
      printf("vcquery ERR res_init\n");
      return NULL;
    }
    _res.options |= RES_USEVC;
    report(mode, res_query(name, ns_c_in, ns_t_a, ans, sizeof ans), ans);
  } else if (strcmp(mode, "gaia") == 0 || strcmp(mode, "gaianowait") == 0 ||
             strcmp(mode, "gaisignal") == 0) {
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    struct gaicb req;
    memset(&req, 0, sizeof req);
    req.ar_name = name;
    req.ar_request = &hints;
    struct gaicb* list[1] = {&req};
    int e;
    char note[64] = "";
    if (strcmp(mode, "gaia") == 0) {
      e = getaddrinfo_a(GAI_WAIT, list, 1, NULL);
    } else if (strcmp(mode, "gaisignal") == 0) {
      struct sigevent sev;
      memset(&sev, 0, sizeof sev);
      sev.sigev_notify = SIGEV_SIGNAL;
      sev.sigev_signo = SIGRTMIN;
      sev.sigev_value.sival_ptr = &req;
      e = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
      if (e == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGRTMIN);
        siginfo_t si;
        while (sigwaitinfo(&set, &si) < 0) {
        }
        snprintf(note, sizeof note, " code=%s value=%s",
                 si.si_code == SI_ASYNCNL ? "SI_ASYNCNL" : "other",
                 si.si_value.sival_ptr == &req ? "ok" : "wrong");
      }
    } else {
      struct sigevent sev;
      memset(&sev, 0, sizeof sev);
      sev.sigev_notify = SIGEV_THREAD;
      sev.sigev_notify_function = gai_done;
      sev.sigev_value.sival_ptr = &req;
      e = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
      if (e == 0) {
        while (sem_wait(&g_gai_done) != 0) {
        }
      }
    }
    if (e == 0) e = gai_error(&req);
    if (e != 0) {
      printf("%s ERR %d\n", mode, e);
    } else {
      char a[64] = "-";
      const struct sockaddr_in* sin = (const struct sockaddr_in*)req.ar_result->ai_addr;
      inet_ntop(AF_INET, &sin->sin_addr, a, sizeof a);
      printf("%s OK %s%s\n", mode, a, note);
      freeaddrinfo(req.ar_result);
    }
  } else if (strncmp(mode, "n", 1) == 0) {
    struct __res_state st;
    memset(&st, 0, sizeof st);
    if (res_ninit(&st) != 0) {
      printf("%s ERR res_ninit\n", mode);
      return NULL;
    }
    int r = -1;
    if (strcmp(mode, "nquery") == 0) {
      r = res_nquery(&st, name, ns_c_in, ns_t_a, ans, sizeof ans);
    } else if (strcmp(mode, "nsearch") == 0) {
      r = res_nsearch(&st, name, ns_c_in, ns_t_a, ans, sizeof ans);
    } else if (strcmp(mode, "nquerydomain") == 0 && g_argc > 3) {
      r = res_nquerydomain(&st, name, g_argv[3], ns_c_in, ns_t_a, ans, sizeof ans);
    } else if (strcmp(mode, "nsend") == 0 && g_argc > 3) {
      set_server(&st, g_argv[3]);
      /* Two slots: the hook must leave only its own. */
      st.nsaddr_list[1] = st.nsaddr_list[0];
      st.nscount = 2;
      unsigned char q[512];
      int ql = res_nmkquery(&st, ns_o_query, name, ns_c_in, ns_t_a, NULL, 0, NULL, q, sizeof q);
      if (ql < 0) {
        printf("nsend ERR mkquery\n");
        return NULL;
      }
      r = res_nsend(&st, q, ql, ans, sizeof ans);
    } else {
      printf("%s ERR usage\n", mode);
      return NULL;
    }
    report(mode, r, ans);
    res_nclose(&st);
  } else if (strcmp(mode, "ptr") == 0) {
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, name, &sin.sin_addr);
    char host[NI_MAXHOST];
    int e =
        getnameinfo((struct sockaddr*)&sin, sizeof sin, host, sizeof host, NULL, 0, NI_NAMEREQD);
    if (e != 0) {
      printf("ptr ERR %d\n", e);
    } else {
      printf("ptr OK %s\n", host);
    }
  } else if (strcmp(mode, "hostbyaddr") == 0) {
    struct in_addr a;
    inet_pton(AF_INET, name, &a);
    struct hostent* h = gethostbyaddr(&a, sizeof a, AF_INET);
    if (h == NULL) {
      printf("hostbyaddr ERR h_errno=%d\n", h_errno);
    } else {
      printf("hostbyaddr OK %s\n", h->h_name);
    }
  } else {
    printf("%s ERR usage\n", mode);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: hook_dns_resapi MODE NAME [ARG]\n");
    return 2;
  }
  sem_init(&g_gai_done, 0, 0);
  /* SIGRTMIN stays blocked in every thread: gaisignal takes it with sigwaitinfo. */
  sigset_t rt;
  sigemptyset(&rt);
  sigaddset(&rt, SIGRTMIN);
  pthread_sigmask(SIG_BLOCK, &rt, NULL);
  g_argc = argc;
  g_argv = argv;
  pthread_t t;
  if (pthread_create(&t, NULL, run, NULL) != 0) return 1;
  pthread_join(t, NULL);
  fflush(stdout);
  return 0;
}
