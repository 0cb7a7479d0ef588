// Stub of JSR-305's @Nullable (a marker on Event's fields).
package javax.annotation;

import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;

@Retention(RetentionPolicy.CLASS)
public @interface Nullable {}
