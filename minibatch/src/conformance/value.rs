//! The dynamic values conformance cases compute with.
//!
//! Case files are JSON: integers, strings, pairs (two-element arrays), `null`. Inputs are read
//! into [`Value`]s; outputs are written back to JSON and compared with the expected JSON as
//! JSON, so a grouped sequence and a pair never need telling apart when reading.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// A case value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Value {
    /// `null`: None, or an absent outer-join side.
    Null,
    /// A 64-bit integer.
    Int(i64),
    /// A string.
    Str(String),
    /// A pair or 2-tuple.
    Pair(Box<Value>, Box<Value>),
    /// A sequence (grouped values, a partition).
    Seq(Vec<Value>),
}

impl Value {
    /// A pair of two values.
    pub fn pair(a: Value, b: Value) -> Value {
        Value::Pair(Box::new(a), Box::new(b))
    }

    /// Reads an input element: a two-element array is a pair, any other array a sequence.
    pub fn from_json(json: &Json) -> Result<Value, String> {
        Ok(match json {
            Json::Null => Value::Null,
            Json::Number(n) => Value::Int(
                n.as_i64()
                    .ok_or_else(|| format!("{n} is not a 64-bit integer"))?,
            ),
            Json::String(s) => Value::Str(s.clone()),
            Json::Array(items) if items.len() == 2 => {
                Value::pair(Value::from_json(&items[0])?, Value::from_json(&items[1])?)
            }
            Json::Array(items) => Value::Seq(
                items
                    .iter()
                    .map(Value::from_json)
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(format!("{other} is not an integer, string, array or null")),
        })
    }

    /// The JSON form expected outputs are written in.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Int(n) => Json::from(*n),
            Value::Str(s) => Json::from(s.clone()),
            Value::Pair(a, b) => Json::Array(vec![a.to_json(), b.to_json()]),
            Value::Seq(items) => Json::Array(items.iter().map(Value::to_json).collect()),
        }
    }

    /// The integer, or a description of what it is instead.
    pub fn int(&self) -> Result<i64, String> {
        match self {
            Value::Int(n) => Ok(*n),
            other => Err(format!("expected an integer, got {}", other.to_json())),
        }
    }

    /// The pair's parts, or a description of what it is instead.
    pub fn into_pair(self) -> Result<(Value, Value), String> {
        match self {
            Value::Pair(a, b) => Ok((*a, *b)),
            other => Err(format!(
                "expected a (key, value) pair, got {}",
                other.to_json()
            )),
        }
    }

    /// The sequence's items, or a description of what it is instead.
    pub fn into_seq(self) -> Result<Vec<Value>, String> {
        match self {
            Value::Seq(items) => Ok(items),
            other => Err(format!("expected a sequence, got {}", other.to_json())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let json: Json = serde_json::from_str(r#"[["a", [1, 2, 3]], null]"#).unwrap();
        let value = Value::from_json(&json).unwrap();
        assert_eq!(
            value,
            Value::pair(
                Value::pair(
                    Value::Str("a".into()),
                    Value::Seq(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
                ),
                Value::Null
            )
        );
        assert_eq!(value.to_json(), json);
        assert!(Value::from_json(&serde_json::json!(1.5)).is_err());
    }
}
