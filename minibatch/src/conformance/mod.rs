//! Spark-derived conformance cases.
