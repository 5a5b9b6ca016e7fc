#ifndef CVELORA_SHIM_H
#define CVELORA_SHIM_H

#include <sys/types.h>
#include <spawn.h>

/// Makes this process a child subreaper: orphaned descendants are reparented
/// to it instead of init, so it can find and reap them. Returns 0 or -1/errno.
int velora_set_child_subreaper(void);

/// open(2) with an explicit mode; Swift does not import the variadic open.
int velora_open(const char *path, int flags, mode_t mode);

/// Installs async-signal-safe handlers for SIGCHLD, SIGINT, SIGTERM and SIGHUP
/// that write the signal number as one byte to `fd` (the write end of a
/// non-blocking self-pipe). Returns 0 or -1/errno.
int velora_install_signal_pipe(int fd);

/// Restores the default disposition of the signals above.
void velora_restore_default_signals(void);

/// Sets O_NONBLOCK on a descriptor (fcntl is variadic). Returns 0 or -1.
int velora_set_nonblocking(int fd);

/// Decoded wait(2) status; the W* macros are not imported into Swift.
int velora_wifexited(int status);
int velora_wexitstatus(int status);
int velora_wifsignaled(int status);
int velora_wtermsig(int status);

/// pipe2(fds, O_CLOEXEC | O_NONBLOCK): pipe2 is hidden behind _GNU_SOURCE.
int velora_pipe_cloexec_nonblock(int fds[2]);

/// posix_spawn_file_actions_addchdir_np, hidden behind _GNU_SOURCE.
int velora_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

#endif
