// Stub of flink-core's Preconditions: only what the generator calls (NexmarkGenerator.checkNotNull).
package org.apache.flink.util;

public final class Preconditions {
    private Preconditions() {}

    public static <T> T checkNotNull(T reference) {
        if (reference == null) {
            throw new NullPointerException();
        }
        return reference;
    }
}
