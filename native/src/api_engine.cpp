// api_engine.cpp: the exported functions of offload.h's prefetch engine and disk source (the engine
// handle's life, its step protocol, its figures, and the staging ring's rule), each inside guarded()
// (api_guard.hpp) as in api.cpp.
#include "api_guard.hpp"
#include "disk/staging_ring.hpp"
#include "prefetch/engine.hpp"

using ofl::guarded;
using ofl::HandleRegistry;
using ofl::live;
using ofl::require_out;

namespace {

ofl_status create_engine(ofl_runtime* runtime, const ofl_group_desc* groups, uint32_t group_count,
                         const ofl_disk_source* source, const ofl_engine_config* config, ofl_stream* compute, ofl_stream* copy,
                         ofl_engine** out) {
    return ofl::guarded(source ? "ofl_engine_create_from_disk" : "ofl_engine_create", [&] {
        ofl::require_out(out, "engine");
        *out = nullptr;
        auto rt = ofl::live(runtime);
        auto compute_stream = ofl::live(compute);
        auto copy_stream = ofl::live(copy);
        ofl::same_runtime(rt->device, compute_stream->device, "runtime and compute stream");
        ofl::same_runtime(rt->device, copy_stream->device, "runtime and copy stream");
        OFL_EXPECT(compute_stream != copy_stream, OFL_ERR_INVALID_ARGUMENT,
                   "the compute and copy streams must be two different streams");
        OFL_EXPECT(groups != nullptr, OFL_ERR_INVALID_ARGUMENT, "groups is NULL");
        OFL_EXPECT(config != nullptr, OFL_ERR_INVALID_ARGUMENT, "config is NULL");
        OFL_EXPECT(config->struct_size >= sizeof(ofl_engine_config), OFL_ERR_INVALID_ARGUMENT,
                   "ofl_engine_config.struct_size is ", config->struct_size, ", expected ", sizeof(ofl_engine_config));
        if (source) {
            OFL_EXPECT(source->struct_size >= sizeof(ofl_disk_source), OFL_ERR_INVALID_ARGUMENT,
                       "ofl_disk_source.struct_size is ", source->struct_size, ", expected ", sizeof(ofl_disk_source));
        }
        auto engine = std::make_shared<ofl_engine>();
        engine->impl =
            std::make_unique<ofl::Engine>(rt->device, groups, group_count, *config, compute_stream->impl, copy_stream->impl, source);
        *out = ofl::HandleRegistry::instance().add(std::move(engine));
    });
}

}  // namespace

extern "C" {

ofl_status ofl_engine_create(ofl_runtime* runtime, const ofl_group_desc* groups, uint32_t group_count,
                             const ofl_engine_config* config, ofl_stream* compute, ofl_stream* copy, ofl_engine** out) {
    return create_engine(runtime, groups, group_count, nullptr, config, compute, copy, out);
}

ofl_status ofl_engine_create_from_disk(ofl_runtime* runtime, const ofl_group_desc* groups, uint32_t group_count,
                                       const ofl_disk_source* source, const ofl_engine_config* config, ofl_stream* compute,
                                       ofl_stream* copy, ofl_engine** out) {
    if (source == nullptr) {
        return ofl::guarded("ofl_engine_create_from_disk", [] { ofl::fail(OFL_ERR_INVALID_ARGUMENT, "disk source is NULL"); });
    }
    return create_engine(runtime, groups, group_count, source, config, compute, copy, out);
}

ofl_status ofl_engine_disk_stats(ofl_engine* engine, ofl_disk_stats* out) {
    return guarded("ofl_engine_disk_stats", [&] {
        auto e = live(engine);
        require_out(out, "disk stats");
        OFL_EXPECT(out->struct_size >= sizeof(ofl_disk_stats), OFL_ERR_INVALID_ARGUMENT, "ofl_disk_stats.struct_size is ",
                   out->struct_size, ", expected ", sizeof(ofl_disk_stats));
        *out = e->impl->disk_stats();
    });
}

ofl_status ofl_engine_layout_get(ofl_engine* engine, ofl_engine_layout* out) {
    return guarded("ofl_engine_layout_get", [&] {
        auto e = live(engine);
        require_out(out, "engine layout");
        OFL_EXPECT(out->struct_size >= sizeof(ofl_engine_layout), OFL_ERR_INVALID_ARGUMENT, "ofl_engine_layout.struct_size is ",
                   out->struct_size, ", expected ", sizeof(ofl_engine_layout));
        *out = e->impl->layout();
    });
}

ofl_status ofl_engine_acquire(ofl_engine* engine, uint32_t group, void** device_address) {
    return guarded("ofl_engine_acquire", [&] {
        auto e = live(engine);
        require_out(device_address, "device address");
        e->impl->check_faults();
        *device_address = e->impl->acquire(group);
    });
}

ofl_status ofl_engine_release(ofl_engine* engine, uint32_t group) {
    return guarded("ofl_engine_release", [&] {
        auto e = live(engine);
        e->impl->check_faults();
        e->impl->release(group);
    });
}

ofl_status ofl_engine_skip(ofl_engine* engine, uint32_t group) {
    return guarded("ofl_engine_skip", [&] {
        auto e = live(engine);
        e->impl->check_faults();
        e->impl->skip(group);
    });
}

ofl_status ofl_engine_advance(ofl_engine* engine, uint32_t group, void** next_device_address) {
    return guarded("ofl_engine_advance", [&] {
        auto e = live(engine);
        require_out(next_device_address, "device address");
        e->impl->check_faults();
        *next_device_address = e->impl->advance(group);
    });
}

ofl_status ofl_engine_step_metrics(ofl_engine* engine, uint64_t step, int32_t wait, ofl_step_metrics* out) {
    return guarded("ofl_engine_step_metrics", [&] {
        auto e = live(engine);
        require_out(out, "metrics");
        OFL_EXPECT(out->struct_size >= sizeof(ofl_step_metrics), OFL_ERR_INVALID_ARGUMENT,
                   "ofl_step_metrics.struct_size is ", out->struct_size, ", expected ", sizeof(ofl_step_metrics));
        e->impl->check_faults();  // a sticky read fault first: a failed step never completes, so its figures would read NOT_READY
        *out = e->impl->metrics(step, wait != 0);
        e->impl->check_faults();  // after a wait too: the step's reads are done by then
    });
}

ofl_status ofl_engine_step_spans(ofl_engine* engine, uint64_t step, int32_t wait, ofl_group_span* out, uint32_t capacity) {
    return guarded("ofl_engine_step_spans", [&] {
        auto e = live(engine);
        require_out(out, "spans");
        e->impl->spans(step, wait != 0, out, capacity);
    });
}

ofl_status ofl_engine_destroy(ofl_engine* engine) {
    return guarded("ofl_engine_destroy", [&] { HandleRegistry::instance().take(engine); });
}

ofl_status ofl_staging_ring(uint64_t staging_bytes, int32_t backend, uint64_t needed_bytes, uint64_t* unit_bytes, uint32_t* units) {
    return ofl::run_guarded("ofl_staging_ring", true, [&] {
        require_out(unit_bytes, "staging unit bytes");
        require_out(units, "staging units");
        OFL_EXPECT(backend == OFL_BACKEND_HOST || backend == OFL_BACKEND_CUDA, OFL_ERR_INVALID_ARGUMENT, "unknown backend ", backend,
                   ": expected OFL_BACKEND_HOST (1) or OFL_BACKEND_CUDA (2)");
        OFL_EXPECT(staging_bytes == 0 || staging_bytes >= 2 * ofl::kStagingPage, OFL_ERR_INVALID_ARGUMENT, "a staging ring of ",
                   staging_bytes, " bytes is too small: it needs at least two 4 KiB units (8192 bytes)");
        const ofl::StagingRing ring = ofl::staging_ring(staging_bytes, backend == OFL_BACKEND_HOST, needed_bytes);
        *unit_bytes = ring.unit;
        *units = ring.units;
    });
}

ofl_status ofl_engine_retire(ofl_engine* engine) {
    return guarded("ofl_engine_retire", [&] { live(engine)->impl->retire(); });
}

}  // extern "C"
