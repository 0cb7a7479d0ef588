// Stub of flink-shaded-jackson's ObjectMapper: NexmarkUtils.MAPPER, used only by
// NexmarkConfiguration.toString (never called by the generator).
package org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonProcessingException;

public class ObjectMapper {
    public String writeValueAsString(Object value) throws JsonProcessingException {
        throw new JsonProcessingException("ObjectMapper is a stub in the reference generator");
    }
}
