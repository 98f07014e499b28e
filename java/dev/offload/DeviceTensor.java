package dev.offload;

import dev.offload.checkpoint.DType;

/** A tensor as a kernel sees it: on the device, valid while its group is held. */
public record DeviceTensor(String name, DType dtype, long[] shape, long byteSize, java.lang.foreign.MemorySegment devicePointer) {
    public DeviceTensor {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }
}
