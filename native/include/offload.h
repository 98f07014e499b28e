/*
 * offload.h: the flat C API of the offload native core.
 *
 * This is the one header jextract reads (see jextract/). Conventions:
 *  - every function returns an ofl_status; results come back through out-parameters;
 *  - on failure ofl_last_error() gives a thread-local message that names what failed and its
 *    numbers; it is never NULL (empty until a call on this thread fails; a success leaves it);
 *  - handles are opaque; each has a create/destroy pair; destroying a handle twice, or using a
 *    destroyed one, returns OFL_ERR_CLOSED and never touches freed memory;
 *  - no C++ exception crosses this boundary.
 *
 * Device pointers are plain addresses: on the cuda backend they are CUDA device addresses, on the
 * host backend they are addresses in the emulated device arena, which host code cannot read or write
 * (an access raises SIGBUS; see "the strict host backend" below). Copies check that the device side
 * of a copy lies inside a live device buffer of the same runtime.
 */
#ifndef OFFLOAD_H
#define OFFLOAD_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define OFL_API __declspec(dllexport)
#else
#define OFL_API __attribute__((visibility("default")))
#endif

/* ---- status ---------------------------------------------------------------------------------- */

typedef int32_t ofl_status;
#define OFL_OK 0
#define OFL_ERR_INVALID_ARGUMENT 1
#define OFL_ERR_OUT_OF_DEVICE_MEMORY 2
#define OFL_ERR_OUT_OF_HOST_MEMORY 3
#define OFL_ERR_NOT_SUPPORTED 4
#define OFL_ERR_BACKEND_UNAVAILABLE 5
#define OFL_ERR_IO 6
#define OFL_ERR_CLOSED 7
#define OFL_ERR_INTERNAL 8
#define OFL_ERR_NOT_READY 9
#define OFL_ERR_DEVICE 10

/* "OFL_OK", "OFL_ERR_INVALID_ARGUMENT", ...; "OFL_ERR_UNKNOWN" for a code outside the list. */
OFL_API const char* ofl_status_name(ofl_status status);
/* The message of the last failed call on this thread; never NULL, empty if none failed. */
OFL_API const char* ofl_last_error(void);
/* "major.minor.patch". */
OFL_API const char* ofl_version(void);

/* ---- backends and runtime -------------------------------------------------------------------- */

#define OFL_BACKEND_HOST 1
#define OFL_BACKEND_CUDA 2

/* Bit set of the backends compiled into this library (OFL_BACKEND_HOST | OFL_BACKEND_CUDA). */
OFL_API uint32_t ofl_compiled_backends(void);

typedef struct ofl_runtime ofl_runtime;

/*
 * Opens a runtime on "auto", "host", "host:N", "cuda" or "cuda:N". "auto" is cuda:0 where a CUDA
 * device answers and host otherwise (ofl_device_info.note says why). "host:N" is the host backend's
 * emulated device N ("host" is host:0): each runtime opened on it has its own arena, budget,
 * streams and worker threads, so one process emulates any number of devices. Pinned host memory
 * (ofl_host_buffer_create) belongs to the process: any runtime's engine may stream from it. budget_bytes is the number of device
 * bytes this runtime may hold; 0 means the device's free memory minus a reserve.
 */
OFL_API ofl_status ofl_runtime_open(const char* device, uint64_t budget_bytes, ofl_runtime** out);
OFL_API ofl_status ofl_runtime_destroy(ofl_runtime* runtime);

#define OFL_NAME_CAPACITY 256

typedef struct ofl_device_info {
    uint32_t struct_size;        /* set by the caller to sizeof(ofl_device_info) */
    int32_t backend;             /* OFL_BACKEND_HOST or OFL_BACKEND_CUDA */
    int32_t device_index;        /* CUDA ordinal; the N of host:N on host (0 for "host") */
    uint32_t compiled_backends;  /* as ofl_compiled_backends() */
    uint64_t total_bytes;        /* device memory in all */
    uint64_t free_bytes;         /* device memory free now */
    uint64_t budget_bytes;       /* what this runtime may hold */
    uint64_t used_bytes;         /* device buffers held now */
    uint64_t peak_bytes;         /* most device buffer bytes held at once since open */
    uint64_t host_used_bytes;    /* pinned host buffer bytes held now */
    uint64_t host_peak_bytes;    /* most pinned host buffer bytes held at once since open */
    char name[OFL_NAME_CAPACITY];
    char note[OFL_NAME_CAPACITY]; /* why "auto" chose what it chose; empty otherwise */
} ofl_device_info;

OFL_API ofl_status ofl_runtime_info(ofl_runtime* runtime, ofl_device_info* out);

/* ---- memory ---------------------------------------------------------------------------------- */

typedef struct ofl_host_buffer ofl_host_buffer;
typedef struct ofl_device_buffer ofl_device_buffer;

/* Page-locked host memory (portable pinned memory on cuda), aligned to at least 4096 bytes. Pinned
 * for the whole process: any runtime's streams may copy from or into it, so destroying a host buffer
 * (this one's, or ofl_host_register's) first waits for every live runtime of the process, counted once
 * in ofl_runtime_device_syncs. */
OFL_API ofl_status ofl_host_buffer_create(ofl_runtime* runtime, uint64_t bytes, ofl_host_buffer** out);
OFL_API ofl_status ofl_host_buffer_address(ofl_host_buffer* buffer, void** out);
OFL_API ofl_status ofl_host_buffer_destroy(ofl_host_buffer* buffer);

/* Device memory counted against the runtime's budget; over it fails with
 * OFL_ERR_OUT_OF_DEVICE_MEMORY and changes nothing. Aligned to at least 256 bytes. */
OFL_API ofl_status ofl_device_buffer_create(ofl_runtime* runtime, uint64_t bytes, ofl_device_buffer** out);
OFL_API ofl_status ofl_device_buffer_address(ofl_device_buffer* buffer, void** out);
OFL_API ofl_status ofl_device_buffer_destroy(ofl_device_buffer* buffer);

/* ---- streams and events ---------------------------------------------------------------------- */

typedef struct ofl_stream ofl_stream;
typedef struct ofl_event ofl_event;

#define OFL_STREAM_COMPUTE 0
#define OFL_STREAM_COPY 1

/* A stream that runs its work in order. COPY streams are dedicated to transfers. */
OFL_API ofl_status ofl_stream_create(ofl_runtime* runtime, int32_t kind, ofl_stream** out);
/* Wraps a caller-owned cudaStream_t (cuda only); destroying the wrapper leaves the stream alone. */
OFL_API ofl_status ofl_stream_wrap(ofl_runtime* runtime, void* cuda_stream, ofl_stream** out);
/* The cudaStream_t behind a cuda stream; NULL for the host backend. */
OFL_API ofl_status ofl_stream_native_handle(ofl_stream* stream, void** out);
/* Blocks the calling thread until all work queued on the stream is done. */
OFL_API ofl_status ofl_stream_synchronize(ofl_stream* stream);
/* Work queued on the stream after this call starts only after the event's latest record is done.
 * The calling thread does not wait. An event never recorded is complete. */
OFL_API ofl_status ofl_stream_wait_event(ofl_stream* stream, ofl_event* event);
/* Queues a busy wait of the given length (tests, benchmarks: holds a stream behind a slow step). */
OFL_API ofl_status ofl_stream_delay(ofl_stream* stream, uint32_t microseconds);

/* A host function run in stream order: cudaLaunchHostFunc's semantics. */
typedef void (*ofl_host_fn)(void* user_data);

/*
 * Queues fn(user_data) on the stream: it runs on a thread of the runtime after the work queued
 * before it, and work queued after it starts only when it returns. This is how a workload (or a
 * user) puts its own host code in stream order; on the host backend it is how code reads and
 * writes "device" memory, since that memory is host memory there. fn must not call offload or
 * CUDA functions that wait on the device (as with cudaLaunchHostFunc) and must not throw or
 * unwind; user_data must stay valid until fn has run.
 */
OFL_API ofl_status ofl_stream_launch_host_func(ofl_stream* stream, ofl_host_fn fn, void* user_data);
/* Destroys the stream once its queued work is done. */
OFL_API ofl_status ofl_stream_destroy(ofl_stream* stream);

#define OFL_EVENT_DEFAULT 0
#define OFL_EVENT_TIMING 1

OFL_API ofl_status ofl_event_create(ofl_runtime* runtime, uint32_t flags, ofl_event** out);
/* Captures the work queued on the stream so far; the event completes when that work is done. */
OFL_API ofl_status ofl_event_record(ofl_event* event, ofl_stream* stream);
/* *done = 1 when the latest record is complete (or the event was never recorded). Never blocks. */
OFL_API ofl_status ofl_event_query(ofl_event* event, int32_t* done);
OFL_API ofl_status ofl_event_synchronize(ofl_event* event);
/* Milliseconds between two completed events created with OFL_EVENT_TIMING;
 * OFL_ERR_NOT_READY while either is pending. */
OFL_API ofl_status ofl_event_elapsed_ms(ofl_event* start, ofl_event* end, float* ms);
OFL_API ofl_status ofl_event_destroy(ofl_event* event);

/* ---- copies ---------------------------------------------------------------------------------- */

#define OFL_COPY_HOST_TO_DEVICE 1
#define OFL_COPY_DEVICE_TO_HOST 2
#define OFL_COPY_DEVICE_TO_DEVICE 3

/* Queues a copy of bytes from src to dst on the stream; the device side must lie inside one live
 * device buffer, and the host side must not be device memory of any runtime (OFL_ERR_INVALID_ARGUMENT:
 * between two devices use ofl_copy_peer). The host side should be pinned memory (ofl_host_buffer_create): then the copy is
 * fully asynchronous. Ordinary (pageable) host memory works too, but the calling thread waits: the
 * call returns once the stream's earlier work and the copy are done (on both backends, as cuda makes
 * a copy from or into pageable memory wait), and the runtime counts it (ofl_runtime_stats). */
OFL_API ofl_status ofl_copy_async(ofl_stream* stream, void* dst, const void* src, uint64_t bytes, int32_t kind);
/* Queues setting bytes of device memory to value. */
OFL_API ofl_status ofl_device_fill_async(ofl_stream* stream, void* dst, uint8_t value, uint64_t bytes);

/* ---- the strict host backend: host kernels, device views, runtime stats ---------------------- */

/*
 * The host backend keeps CUDA's rules, so that what would break on a GPU breaks on the host too:
 *  - device addresses are not host memory: a load or store through one from host code raises SIGBUS
 *    (Java sees java.lang.InternalError). Emulated device code runs as a host kernel, which reaches
 *    device memory through views;
 *  - no offload function may be called from a host function's or host kernel's body (CUDA forbids
 *    runtime calls from cudaLaunchHostFunc's callbacks): every entry point that touches a runtime,
 *    stream, event, buffer or engine returns OFL_ERR_NOT_SUPPORTED there, on both backends, naming
 *    the rule (ofl_device_view, ofl_last_error, ofl_status_name and ofl_version stay callable);
 *  - a copy whose host side is not pinned makes the caller wait and is counted (ofl_copy_async);
 *  - freeing device memory waits for every stream of the runtime (cudaFree's rule), destroying a
 *    host buffer for every runtime's (ofl_host_buffer_destroy);
 *  - group memory must be pinned (ofl_group_desc), on both backends;
 *  - a stream's wait waits for the record made before the wait was queued: a later record of the
 *    same event, even one that completes first on another stream, does not release it.
 */

/* Queues fn(user_data) on the stream as a host kernel: emulated device code, run in stream order as
 * a host function is, in whose body ofl_device_view grants access to device memory. Host backend
 * only: on cuda it returns OFL_ERR_NOT_SUPPORTED (launch a CUDA kernel on the native stream). The
 * body must not call other offload functions, throw or unwind. */
OFL_API ofl_status ofl_stream_launch_host_kernel(ofl_stream* stream, ofl_host_fn fn, void* user_data);
/* The host address through which a host kernel reads and writes [device_ptr, device_ptr + bytes),
 * a range inside one live device buffer (or engine region) of the kernel's runtime, else
 * OFL_ERR_INVALID_ARGUMENT. Only in a host kernel's body:
 * anywhere else (a host function, any other thread) it returns OFL_ERR_NOT_SUPPORTED. A view is
 * valid until the body returns. */
OFL_API ofl_status ofl_device_view(const void* device_ptr, uint64_t bytes, void** out);

typedef struct ofl_runtime_stats {
    uint32_t struct_size;     /* set by the caller to sizeof(ofl_runtime_stats) */
    uint32_t reserved;        /* 0 */
    uint64_t pageable_copies; /* ofl_copy_async calls since open whose host side was not pinned (the caller waited) */
} ofl_runtime_stats;

OFL_API ofl_status ofl_runtime_stats_get(ofl_runtime* runtime, ofl_runtime_stats* out);

/* ---- the prefetch engine --------------------------------------------------------------------- */

/*
 * An engine streams one component's groups through the device, step after step. Groups run in a
 * fixed order 0..n-1; a step is one pass; the caller calls acquire(g) and release(g) for each group
 * in order. A resident group is copied once into a permanent region at creation; a streamed group
 * is copied into a ring of `slots` slots sized for the largest streamed group, `prefetch_depth`
 * streamed groups ahead of the one computing, wrapping around into the next step. The engine's
 * device memory is one buffer (permanent region + ring), counted against the runtime's budget.
 *
 * Waiting happens on the device: acquire() makes the compute stream wait on the event recorded
 * after the group's copy; the copy into a slot waits on the event recorded at the release of the
 * group that used the slot before. Nothing is copied back at release. The calling thread may run
 * up to `steps_ahead` steps ahead of the device: acquire and release never block, except that the
 * first acquire of step s waits, as back-pressure, until the device has finished step
 * s - 1 - steps_ahead. That is at most one wait per step, counted in host_waits and
 * host_blocked_ms.
 *
 * On both backends, every streamed or resident group's host memory must be pinned (page-locked):
 * a copy from pageable memory would block the calling thread, so the engine refuses it naming the
 * group (a disk source reads through its own pinned staging instead).
 */
typedef struct ofl_engine ofl_engine;

typedef struct ofl_group_desc {
    const void* host_address; /* the group's packed bytes in pinned host memory */
    uint64_t bytes;
    uint32_t resident;        /* 1: copied once into the permanent region and kept there */
    uint32_t reserved;        /* 0 */
} ofl_group_desc;

#define OFL_MAX_STEPS_AHEAD 8

#define OFL_TIMING_OFF 0   /* counters only */
#define OFL_TIMING_STEP 1  /* four timing events per step: step_ms and copy_busy_ms */
#define OFL_TIMING_GROUP 2 /* the protocol's per-group events keep timestamps too: every figure */

typedef struct ofl_engine_config {
    uint32_t struct_size;     /* sizeof(ofl_engine_config) */
    uint32_t slots;           /* ring slots for streamed groups (>= 1 when any group is streamed; more
                                 than the streamed groups of one step are not used) */
    uint32_t prefetch_depth;  /* streamed groups queued ahead of the computing one; < slots */
    uint32_t timing;          /* OFL_TIMING_OFF, OFL_TIMING_STEP or OFL_TIMING_GROUP (see ofl_step_metrics) */
    uint32_t steps_ahead;     /* steps the calling thread may run ahead of the device, 0..OFL_MAX_STEPS_AHEAD */
    uint32_t trace;           /* 1: keep each step's per-group spans (ofl_engine_step_spans); needs OFL_TIMING_GROUP */
} ofl_engine_config;

/*
 * One step's figures. Times are device times in milliseconds, NaN where the timing level does not
 * give them. OFL_TIMING_STEP records four timing events per step (where the step's compute begins
 * and ends, where its copies begin and end): step_ms and copy_busy_ms. OFL_TIMING_GROUP also keeps
 * timestamps in the events the protocol records anyway (one per copy, one per release), which adds
 * no event but makes reading a step cost about three elapsed-time queries per group: compute_ms,
 * compute_idle_ms and copy_ms too. A step's figures are computed when they are asked for; a step
 * not asked for within steps_ahead + 2 steps of its end is read by the engine itself at the first
 * acquire of a later step (it is done by then: reading never blocks).
 */
typedef struct ofl_step_metrics {
    uint32_t struct_size;     /* sizeof(ofl_step_metrics), set by the caller */
    uint32_t timed;           /* 1 when the times below were measured */
    uint64_t step;            /* index of the step these figures are for (0-based) */
    uint64_t h2d_bytes;       /* bytes copied host-to-device for this step's groups */
    uint64_t host_waits;      /* back-pressure waits of the calling thread in this step: 0 or 1 */
    double host_blocked_ms;   /* how long the calling thread waited in them (wall clock) */
    double step_ms;           /* compute-stream time from the previous step's end (step 0: its start) to this
                                 step's end: the step's period */
    double compute_ms;        /* compute-stream time from the step's first acquire to its end, less compute_idle_ms */
    double compute_idle_ms;   /* time the compute stream waited for this step's copies */
    double copy_ms;           /* sum of this step's copy durations on the copy stream (from the later of the
                                 previous copy's end and its slot's release; a copy the host queued late
                                 counts the wait for the host too) */
    double copy_busy_ms;      /* copy-stream span from the start of the step's first copy to the end of its last */
    double begin_ms;          /* where the step's compute began on the runtime's device clock: ms since an
                                 event recorded before the runtime's first engine (shared by every engine
                                 of the runtime; NaN without timing) */
    uint64_t peak_device_bytes; /* the runtime's device peak since open, when the figures were read */
    uint64_t peak_host_bytes;   /* the runtime's pinned host peak since open, when the figures were read */
} ofl_step_metrics;

/* The engine keeps the streams alive; the host memory of every group must outlive the engine. */
OFL_API ofl_status ofl_engine_create(ofl_runtime* runtime, const ofl_group_desc* groups, uint32_t group_count,
                                     const ofl_engine_config* config, ofl_stream* compute, ofl_stream* copy,
                                     ofl_engine** out);
/* Makes group's weights available to work queued on the compute stream from now on and gives their
 * device address. Groups are acquired in order, one at a time. */
OFL_API ofl_status ofl_engine_acquire(ofl_engine* engine, uint32_t group, void** device_address);
/* Ends the group's use: work queued on the compute stream so far is the last to read its slot. */
OFL_API ofl_status ofl_engine_release(ofl_engine* engine, uint32_t group);
/* ofl_engine_release(group) then ofl_engine_acquire(group + 1) in one call (group + 1 must be in the
 * same step): one downcall per group, and on the host backend one queued operation for the two. */
OFL_API ofl_status ofl_engine_advance(ofl_engine* engine, uint32_t group, void** next_device_address);
/* Skips group in this step, in its place in the order (no group held): acquire and release with no
 * work between. A copy not queued yet is not made; one already queued (prefetched) runs, and the
 * compute stream passes it as an acquire would: that is what a skip costs (with a disk source the
 * group is read and copied all the same). The ring and its prefetch go on in order for the next
 * groups and steps; the step's h2d_bytes leave out the copies not made. Skipping the last group
 * ends the step. */
OFL_API ofl_status ofl_engine_skip(ofl_engine* engine, uint32_t group);
/*
 * Figures of a step whose last group was released. Never blocks unless wait is 1: while the
 * device is still running the step, it gives OFL_ERR_NOT_READY (wait 0) or waits for the step's
 * compute (wait 1; that wait is not counted as host_blocked). The last 64 steps are kept (older:
 * invalid argument). A step not completed yet is OFL_ERR_NOT_READY.
 */
OFL_API ofl_status ofl_engine_step_metrics(ofl_engine* engine, uint64_t step, int32_t wait, ofl_step_metrics* out);
/* One group's place on a step's timeline (ms since the step's begin_ms; device clock). */
typedef struct ofl_group_span {
    uint32_t group;
    uint32_t streamed;          /* 1: copied this step (copy_* are set); 0: resident (copy_* are NaN, except
                                   in step 0 for a group loaded from host memory: its load, before 0) */
    double copy_start_ms;       /* the copy's start on the copy stream (may be before 0: prefetched) */
    double copy_end_ms;
    double compute_start_ms;    /* the compute stream passes the group's acquire (its copy done) */
    double compute_end_ms;      /* the group's release */
    int64_t read_start_ns;      /* a disk source's read of the group into staging, on the host's monotonic clock */
    int64_t read_end_ns;        /* (CLOCK_MONOTONIC ns: System.nanoTime's on Linux); 0 when not read this step */
} ofl_group_span;

/*
 * The spans of every group of a completed step, in group order, into out[0..capacity) (capacity >=
 * the group count). Needs an engine made with trace = 1; the last 64 steps are kept. Like
 * ofl_engine_step_metrics it never blocks unless wait is 1 (OFL_ERR_NOT_READY while the device
 * still runs the step).
 */
OFL_API ofl_status ofl_engine_step_spans(ofl_engine* engine, uint64_t step, int32_t wait, ofl_group_span* out,
                                         uint32_t capacity);
/* ---- the disk source ------------------------------------------------------------------------ */

/*
 * An engine whose groups stay in their files (safetensors shards): each group is a list of extents
 * (bytes of one file that land at an offset of the group's packed layout; bytes no extent covers are
 * zero). The engine's reader threads read the streamed groups with pread (buffered or O_DIRECT), unit
 * by unit, into a ring of pinned staging units; the copy stream copies each unit to its place in the
 * device slot. Reading, copying and compute overlap (three stages); a staging unit is reused only
 * once the copy out of it is done. Resident groups are read once, at creation, through the staging
 * ring. Host memory is the staging ring (plus, for O_DIRECT, one unit and 8 KiB of pageable bounce
 * buffer per reader thread), whatever the model's size.
 *
 * Reads use pread, never a mapping: a file that shrank or fails to read is an OFL_ERR_IO naming the
 * file, the offset and the group, returned by the engine's next call (acquire, advance, release,
 * step metrics) and every call after it (sticky); the engine stays destroyable. The group whose read
 * failed may have been computed on stale bytes: after an IO error the engine's output is void.
 *
 * With OFL_DISK_FROM_HOST the groups' bytes are in ordinary (pageable) host memory at their
 * host_address instead of in files (no paths, no extents): the reader copies each streamed group
 * into the pinned staging ring and the copy stream copies it from there, so no pinned copy of the
 * model is needed and the calling thread never waits for a pageable copy (the low-memory source).
 */
typedef struct ofl_disk_extent {
    uint32_t group;        /* the group these bytes belong to */
    uint32_t file;         /* index into ofl_disk_source.paths */
    uint64_t file_offset;  /* where the bytes start in the file */
    uint64_t bytes;
    uint64_t group_offset; /* where they land in the group's packed bytes; extents of a group never overlap */
} ofl_disk_extent;

typedef struct ofl_disk_source {
    uint32_t struct_size;            /* sizeof(ofl_disk_source) */
    uint32_t file_count;
    const char* const* paths;        /* file_count paths, opened read-only at creation */
    const ofl_disk_extent* extents;
    uint64_t extent_count;
    uint64_t staging_bytes;          /* pinned staging ring, in units: 0 = 8 units of 1 MiB where a CPU core copies (the
                                        host backend) or of 8 MiB where a DMA engine does (cuda), at most half of a
                                        step's streamed bytes (rounded up to 4 KiB, at least 8 KiB). A ring of N
                                        bytes (at least 8 KiB; at most a step's streamed bytes are used) holds
                                        N / unit units, the unit shrunk to N / 2 (a 4 KiB multiple) when N is below
                                        two units, the default too. Any group streams through any ring */
    uint32_t flags;                  /* OFL_DISK_FROM_HOST, or at most one OFL_DISK_IO_* (none: the default choice) */
    uint32_t reader_threads;         /* reader threads; 0 = one per four hardware threads, 1 to 4 */
} ofl_disk_source;

#define OFL_DISK_FROM_HOST 1u
/* How files are read. With none of these, buffered reads when the streamed bytes fit in half of
 * MemAvailable (the page cache keeps them after one pass), else whichever of the two a timed read of
 * the first streamed group at creation found faster (as OFL_DISK_IO_PROBE). */
#define OFL_DISK_IO_BUFFERED 2u  /* pread through the page cache */
#define OFL_DISK_IO_DIRECT 4u    /* O_DIRECT pread into an aligned bounce buffer; buffered where the file system refuses it */
#define OFL_DISK_IO_PROBE 8u     /* time both on the first streamed group (up to 64 MiB, the page cache dropped for the buffered
                                    read) and keep the faster */

/* As ofl_engine_create, but the groups' bytes come from files: every group's host_address is NULL
 * and its bytes is its packed size (with OFL_DISK_FROM_HOST: from host memory, which may be pageable,
 * at every group's host_address). */
OFL_API ofl_status ofl_engine_create_from_disk(ofl_runtime* runtime, const ofl_group_desc* groups, uint32_t group_count,
                                               const ofl_disk_source* source, const ofl_engine_config* config,
                                               ofl_stream* compute, ofl_stream* copy, ofl_engine** out);

/* Cumulative figures of an engine's disk reader since creation (all zero for an engine without one). */
typedef struct ofl_disk_stats {
    uint32_t struct_size;     /* sizeof(ofl_disk_stats), set by the caller */
    uint32_t staging_slots;   /* units in the staging ring */
    uint64_t staging_bytes;   /* pinned bytes of the staging ring: staging_slots x staging_unit_bytes */
    uint64_t bytes_read;      /* bytes read from the files (resident groups included) */
    uint64_t groups_read;     /* group reads completed (a resident group counts once) */
    double read_ms;           /* wall time with at least one read in flight (all reader threads together) */
    double stall_ms;          /* wall time the copy stream waited for reads to finish */
    uint32_t io_mode;         /* OFL_DISK_IO_BUFFERED or OFL_DISK_IO_DIRECT as used; 0 for OFL_DISK_FROM_HOST */
    uint32_t reader_threads;
    double probe_buffered_gbps; /* the creation-time probe's figures; 0 when it did not run */
    double probe_direct_gbps;
    uint64_t staging_unit_bytes; /* one unit: what a reader thread reads and the copy stream copies at a time */
    uint64_t read_calls;      /* pread calls made (direct reads of file-adjacent extents share one) */
} ofl_disk_stats;

OFL_API ofl_status ofl_engine_disk_stats(ofl_engine* engine, ofl_disk_stats* out);

/* What an engine allocated and how its ring is shaped, as it derived them from the groups and the
 * config; a caller that planned them (the Java Schedule) checks that both agree. */
typedef struct ofl_engine_layout {
    uint32_t struct_size;     /* sizeof(ofl_engine_layout), set by the caller */
    uint32_t slots;           /* ring slots in use: the config's, at most a step's streamed groups */
    uint32_t prefetch_depth;  /* as used: below slots */
    uint32_t reserved;        /* 0 */
    uint64_t resident_bytes;  /* the permanent region: resident groups, each 256-byte aligned */
    uint64_t slot_bytes;      /* one slot: the largest streamed group, 256-byte aligned (0: nothing streams) */
    uint64_t device_bytes;    /* the engine's one device allocation: resident + slots x slot bytes, at least 256 */
} ofl_engine_layout;

OFL_API ofl_status ofl_engine_layout_get(ofl_engine* engine, ofl_engine_layout* out);

/* Ends the engine without waiting for the device (ofl_engine_retire first, if not called). */
OFL_API ofl_status ofl_engine_destroy(ofl_engine* engine);

/* ---- registered host memory (shared host regions) --------------------------------------------- */

/* Registers caller memory [address, address + bytes) as pinned host memory and wraps it in a host
 * buffer: on cuda cudaHostRegister(..., cudaHostRegisterPortable) (every device's copies from it run
 * at pinned speed), on the host backend the range is recorded as pinned. Engines accept groups in it
 * as pinned (ofl_group_desc). The memory stays the caller's: ofl_host_buffer_destroy unregisters it
 * (cudaHostUnregister) and frees nothing. Used for a region of a shared-memory file that several
 * processes map, each registering its own mapping. address must be 4096-aligned, bytes > 0; the
 * bytes count in the runtime's host_used_bytes while registered. */
OFL_API ofl_status ofl_host_register(ofl_runtime* runtime, void* address, uint64_t bytes, ofl_host_buffer** out);

/* ---- copies between devices (issue 20) -------------------------------------------------------- */

/*
 * Queues a copy of bytes from device memory of src_stream's runtime to device memory of
 * dst_stream's runtime (another device of the same backend, or the same one), ordered against both
 * streams without blocking the caller: src_ready (an event of the source's runtime) is recorded on
 * src_stream and dst_stream waits for it, so the copy reads what the source's work queued so far
 * wrote; the copy runs on dst_stream; copy_done (an event of the destination's runtime) is recorded
 * after it and src_stream waits for it, so work queued later on the source may overwrite src. On cuda
 * it is a peer copy (cudaMemcpyPeerAsync: direct where the devices allow peer access, staged through
 * pinned host memory by the driver where not); on the host backend a copy between the two arenas.
 * The events are the caller's, made once (no event is created per copy).
 */
OFL_API ofl_status ofl_copy_peer(ofl_stream* dst_stream, void* dst, ofl_stream* src_stream, const void* src, uint64_t bytes,
                                 ofl_event* src_ready, ofl_event* copy_done);

/* ---- the staging ring's rule ------------------------------------------------------------------ */
/* The staging ring a disk source's reader will make (ofl_disk_source.staging_bytes' rule; the reader
 * sizes its ring with this same function), so that callers ask instead of restating it: for
 * staging_bytes as ofl_disk_source takes it (0: the default; else at least 8192), the backend whose
 * copies read the ring (OFL_BACKEND_HOST: a CPU core, 1 MiB units; OFL_BACKEND_CUDA: a DMA engine,
 * 8 MiB units) and needed_bytes, the bytes a step streams with each group rounded up to 4 KiB (the
 * largest group's, rounded so, when nothing streams), *unit_bytes and *units; the ring's pinned bytes
 * are their product. The reader's flags (OFL_DISK_*) do not change the ring. INVALID_ARGUMENT for an
 * unknown backend, a staging_bytes from 1 to 8191, or a NULL output. */
OFL_API ofl_status ofl_staging_ring(uint64_t staging_bytes, int32_t backend, uint64_t needed_bytes, uint64_t* unit_bytes,
                                    uint32_t* units);

/* ---- turns without device-wide waits --------------------------------------------------------- */

/* Gives the engine's device region back to the runtime without waiting: fenced by events at its
 * last use (the end of its last step on the compute stream, its copies queued so far), so the next
 * engine's copies into that space queue behind them on the device while the host goes on. After
 * it, acquire/advance/release/skip fail OFL_ERR_CLOSED; step metrics, spans, disk stats and the
 * layout still answer until ofl_engine_destroy. Calling it twice is a no-op. */
OFL_API ofl_status ofl_engine_retire(ofl_engine* engine);

/* Device-wide waits this runtime has made since it opened: ofl_device_buffer_destroy (it waits as
 * cudaFree does) and freeing pinned host memory (as cudaFreeHost). An engine's end and a
 * model-level turn add none. */
OFL_API ofl_status ofl_runtime_device_syncs(ofl_runtime* runtime, uint64_t* out);

#ifdef __cplusplus
}
#endif

#endif /* OFFLOAD_H */
