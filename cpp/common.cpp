#include "common.hpp"

#include <omp.h>

#include <cstdio>
#include <cstring>
#include <string>

#if defined(__linux__)
#include <dirent.h>
#include <unistd.h>
#endif

namespace archbound {

int resolve_threads(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }

ThreadScope::ThreadScope(int threads) : previous_(omp_get_max_threads()) {
    omp_set_num_threads(resolve_threads(threads));
}

namespace {

#if defined(__linux__)
/// The state letter of /proc/... stat text, after the command name in parentheses.
char stat_state(const char* path) {
    std::FILE* f = std::fopen(path, "r");
    if (!f) return '?';
    char buffer[512];
    const size_t n = std::fread(buffer, 1, sizeof buffer - 1, f);
    std::fclose(f);
    buffer[n] = '\0';
    const char* close = std::strrchr(buffer, ')');
    return close && close[1] == ' ' ? close[2] : '?';
}
#endif

}  // namespace

int other_runnable_threads() {
#if defined(__linux__)
    // /proc/loadavg: "0.50 0.40 0.30 running/total last_pid"; running counts every runnable
    // thread of the machine, this process's included. It says nothing about the cores of a
    // process confined to some of them (a cpuset, taskset): then the answer is 0, and only
    // the timed probes of StepThreads decide.
    if (sysconf(_SC_NPROCESSORS_ONLN) != omp_get_num_procs()) return 0;
    std::FILE* f = std::fopen("/proc/loadavg", "r");
    if (!f) return 0;
    double a, b, c;
    int running = 0, total = 0;
    const int fields = std::fscanf(f, "%lf %lf %lf %d/%d", &a, &b, &c, &running, &total);
    std::fclose(f);
    if (fields != 5) return 0;
    int own = 0;
    if (DIR* tasks = opendir("/proc/self/task")) {
        while (const dirent* e = readdir(tasks)) {
            if (e->d_name[0] == '.') continue;
            const std::string path = std::string("/proc/self/task/") + e->d_name + "/stat";
            own += stat_state(path.c_str()) == 'R';
        }
        closedir(tasks);
    }
    return std::max(0, running - std::max(own, 1));
#else
    return 0;
#endif
}

int StepThreads::omp_cores() { return omp_get_num_procs(); }

ThreadScope::~ThreadScope() { omp_set_num_threads(previous_); }

}  // namespace archbound
