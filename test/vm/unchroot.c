/* unchroot: run a command with the VM's files mounted over / instead of chrooted into.
 *
 * cgroup2-vm's init chroots into the host's files; the kernel refuses to create user namespaces
 * for a chrooted process (unshare(CLONE_NEWUSER) fails with EPERM), and ncx needs one. In a
 * mount namespace of its own, this leaves the chroot, moves the chroot's mount over / (what
 * switch_root does) and execs the command there: same files, not chrooted.
 *   unchroot /newroot COMMAND [ARG...] */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static int die(const char *what) { fprintf(stderr, "unchroot: %s: %s\n", what, strerror(errno)); return 1; }

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: unchroot NEWROOT COMMAND [ARG...]\n"); return 2; }
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) return die("getcwd");
  if (unshare(CLONE_NEWNS) < 0) return die("unshare");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return die("make / private");
  /* Leave the chroot: chroot deeper, then walk up past the old root. */
  mkdir("/.unchroot", 0700);
  if (chroot("/.unchroot") < 0) return die("chroot");
  for (int i = 0; i < 64; i++) chdir("..");
  if (chroot(".") < 0) return die("chroot to the real root");
  rmdir("/.unchroot"); /* (it lived in the chroot, now under NEWROOT) */
  if (chdir(argv[1]) < 0) return die("chdir NEWROOT");
  if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) return die("move NEWROOT over /");
  if (chroot(".") < 0) return die("chroot .");
  if (chdir(cwd) < 0) chdir("/");
  execvp(argv[2], argv + 2);
  return die("exec");
}
