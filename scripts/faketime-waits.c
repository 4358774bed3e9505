/*
 * Loaded before libfaketime in the date runs (scripts/test-on-dates.sh), so that PostgreSQL's
 * timers fire under a moved clock.
 *
 * libfaketime 0.9.10 wraps the blocking waits (epoll_wait, poll, select, nanosleep, ...) and,
 * while the real call blocks, stops faking the clock for the thread. PostgreSQL checks its
 * lock_timeout and statement_timeout in the SIGALRM handler, which runs inside such a wait: it
 * reads the real clock, finds the (faked) deadline months away and re-arms the timer instead of
 * firing it. These definitions take the waits from the C library directly, so libfaketime never
 * sees them; with a clock moved by an offset (not sped up) their timeouts need no translation.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

static void *libc_symbol(const char *name) {
  static void *libc;
  if (libc == NULL) libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
  void *symbol = libc == NULL ? NULL : dlsym(libc, name);
  if (symbol == NULL) abort();
  return symbol;
}

#define FROM_LIBC(ret, name, params, args)                       \
  ret name params {                                              \
    static ret(*real) params;                                    \
    if (real == NULL) real = (ret(*) params)libc_symbol(#name);  \
    return real args;                                            \
  }

FROM_LIBC(int, epoll_wait, (int epfd, struct epoll_event *events, int maxevents, int timeout), (epfd, events, maxevents, timeout))
FROM_LIBC(int, epoll_pwait, (int epfd, struct epoll_event *events, int maxevents, int timeout, const sigset_t *sigmask), (epfd, events, maxevents, timeout, sigmask))
FROM_LIBC(int, poll, (struct pollfd *fds, nfds_t nfds, int timeout), (fds, nfds, timeout))
FROM_LIBC(int, ppoll, (struct pollfd *fds, nfds_t nfds, const struct timespec *timeout, const sigset_t *sigmask), (fds, nfds, timeout, sigmask))
FROM_LIBC(int, select, (int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, struct timeval *timeout), (nfds, readfds, writefds, exceptfds, timeout))
FROM_LIBC(int, pselect, (int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, const struct timespec *timeout, const sigset_t *sigmask), (nfds, readfds, writefds, exceptfds, timeout, sigmask))
FROM_LIBC(int, nanosleep, (const struct timespec *req, struct timespec *rem), (req, rem))
FROM_LIBC(int, usleep, (useconds_t usec), (usec))
FROM_LIBC(unsigned int, sleep, (unsigned int seconds), (seconds))
