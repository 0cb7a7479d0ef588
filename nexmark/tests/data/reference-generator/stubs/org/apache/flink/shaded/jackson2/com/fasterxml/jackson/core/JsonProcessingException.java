// Stub of flink-shaded-jackson's JsonProcessingException (NexmarkConfiguration.toString catches it).
package org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core;

public class JsonProcessingException extends java.io.IOException {
    public JsonProcessingException(String message) {
        super(message);
    }
}
