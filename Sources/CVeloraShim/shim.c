#define _GNU_SOURCE
#include "CVeloraShim.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <spawn.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int velora_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int velora_open(const char *path, int flags, mode_t mode) {
    return open(path, flags, mode);
}

static volatile int signal_pipe_fd = -1;

static void on_signal(int sig) {
    int saved = errno;
    unsigned char byte = (unsigned char)sig;
    if (signal_pipe_fd >= 0) {
        ssize_t ignored = write(signal_pipe_fd, &byte, 1);
        (void)ignored;
    }
    errno = saved;
}

static const int handled_signals[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP};

int velora_install_signal_pipe(int fd) {
    signal_pipe_fd = fd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    sigset_t unblock;
    sigemptyset(&unblock);
    for (unsigned i = 0; i < sizeof handled_signals / sizeof handled_signals[0]; i++) {
        if (sigaction(handled_signals[i], &sa, NULL) != 0) return -1;
        sigaddset(&unblock, handled_signals[i]);
    }
    /* A parent may have started us with these blocked (Foundation's Process does): unblock them. */
    return pthread_sigmask(SIG_UNBLOCK, &unblock, NULL) == 0 ? 0 : -1;
}

void velora_restore_default_signals(void) {
    for (unsigned i = 0; i < sizeof handled_signals / sizeof handled_signals[0]; i++) {
        signal(handled_signals[i], SIG_DFL);
    }
    signal_pipe_fd = -1;
}

int velora_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int velora_wifexited(int status) { return WIFEXITED(status); }
int velora_wexitstatus(int status) { return WEXITSTATUS(status); }
int velora_wifsignaled(int status) { return WIFSIGNALED(status); }
int velora_wtermsig(int status) { return WTERMSIG(status); }

int velora_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int velora_pipe_cloexec_nonblock(int fds[2]) {
    return pipe2(fds, O_CLOEXEC | O_NONBLOCK);
}
