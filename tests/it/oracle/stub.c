/* The shell oracle's stub program: every name on the sandbox's PATH that is not a real shell or
 * runner is a link to this. It appends the path it was executed by (AT_EXECFN: what the shell
 * passed to execve, so `exec -a NAME` cannot hide it) and its argv to the file named by
 * ORACLE_LOG as one record (fields separated by 0x1f, the record ended by 0x1e) in a single
 * write, prints nothing and exits 0. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *log = getenv("ORACLE_LOG");
    if (!log) log = getenv("ORACLE_ORPHANS");
#ifdef ORACLE_ORPHANS_DEFAULT
    /* A script that cleared the environment (env -i) still leaves a trace. */
    if (!log) log = ORACLE_ORPHANS_DEFAULT;
#endif
    if (!log) return 0;
    const char *path = (const char *)getauxval(AT_EXECFN);
    if (!path) path = "";
    size_t size = strlen(path) + 2;
    for (int i = 0; i < argc; i++) size += strlen(argv[i]) + 1;
    char *record = malloc(size);
    if (!record) return 0;
    size_t at = strlen(path);
    memcpy(record, path, at);
    record[at++] = argc > 0 ? '\x1f' : '\x1e';
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        memcpy(record + at, argv[i], n);
        at += n;
        record[at++] = i + 1 < argc ? '\x1f' : '\x1e';
    }
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd >= 0) {
        (void)write(fd, record, at);
        close(fd);
    }
    return 0;
}
