// archbound_bench: google-benchmark suite of the archbound core.
//
//   archbound_bench [--size=standard|small|tiny] [--threads=1,2,...] [google-benchmark flags]
//
// --size picks the problem sizes (standard, small or tiny); --threads the OpenMP thread counts that
// every benchmark runs with (default: 1 and omp_get_max_threads()). Every other flag goes to
// google-benchmark, e.g. --benchmark_filter=nearest --benchmark_min_time=0.01.
#include "bench_common.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace archbound::bench {

Sizes sizes_named(const std::string& name) {
    //      name        pinv        opnorm      nearest             forward               gemm
    if (name == "standard")
        return {name, 4096, 2000, 4096, 4096, 10000, 10000, 784, 10000, 784, 1024, 10, 10, 4096};
    if (name == "small")
        return {name, 1024, 500, 1024, 1024, 2000, 2000, 256, 2000, 784, 256, 4, 10, 1024};
    if (name == "tiny") return {name, 128, 64, 128, 128, 300, 300, 32, 200, 64, 32, 2, 10, 128};
    throw std::invalid_argument("--size must be standard, small or tiny, not '" + name + "'");
}

}  // namespace archbound::bench

namespace {

std::vector<int> parse_threads(const std::string& text) {
    std::vector<int> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        const int t = std::stoi(item);
        if (t < 1) throw std::invalid_argument("--threads takes positive integers");
        if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
    }
    if (out.empty()) throw std::invalid_argument("--threads is empty");
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace archbound::bench;
    Config config{sizes_named("standard"), {}};
    std::vector<char*> rest{argv[0]};
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string arg = argv[i];
            if (arg.rfind("--size=", 0) == 0) {
                config.sizes = sizes_named(arg.substr(7));
            } else if (arg.rfind("--threads=", 0) == 0) {
                config.threads = parse_threads(arg.substr(10));
            } else {
                rest.push_back(argv[i]);
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "archbound_bench: %s\n", e.what());
        return 2;
    }
    if (config.threads.empty())
        config.threads = parse_threads("1," + std::to_string(omp_get_max_threads()));

    int rest_argc = int(rest.size());
    benchmark::Initialize(&rest_argc, rest.data());
    if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 1;
    benchmark::AddCustomContext("archbound.sizes", config.sizes.name);
    benchmark::AddCustomContext("archbound.simd", Eigen::SimdInstructionSetsInUse());
    register_pinv(config);
    register_opnorm(config);
    register_geometry(config);
    register_forward(config);
    register_gemm(config);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
