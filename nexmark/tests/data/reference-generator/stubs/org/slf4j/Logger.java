// Stub of slf4j's Logger: NexmarkUtils declares one and never logs from the generator.
package org.slf4j;

public interface Logger {}
