//! Reading a case file: every field checked, every problem named by case and field.

use serde_json::{Map, Value as Json};

use super::functions::Func;
use super::value::Value;

/// Batches one case may run, at most: a case runs its batches one after another, so a typo of
/// `1e8` would otherwise run silently for hours.
pub const MAX_BATCHES: u64 = 10_000;
/// Partitions of an input batch, at most.
pub const MAX_PARTITIONS: u64 = 1024;
/// A batch interval, window or slide in ms, at most: one day.
pub const MAX_INTERVAL_MS: u64 = sluice_engine::time::MAX_INTERVAL_MS;

/// One conformance case.
#[derive(Clone, Debug)]
pub struct Case {
    /// The case's id.
    pub id: String,
    /// The batch interval in ms.
    pub batch_ms: u64,
    /// Partitions each input batch is split into.
    pub input_partitions: usize,
    /// The pipeline.
    pub pipeline: Node,
    /// Per source, per batch: the elements, or `None` for no batch.
    pub inputs: Vec<Vec<Option<Vec<Value>>>>,
    /// The expected output batches, as JSON arrays.
    pub expected: Vec<Vec<Json>>,
    /// How many batches to run.
    pub num_batches: usize,
    /// Whether batches compare in order (else as multisets).
    pub ordered: bool,
    /// With `"compare": "partitions"`: the partition count each output batch must have.
    pub partitions: Option<usize>,
}

/// A pipeline node.
#[derive(Clone, Debug)]
pub enum Node {
    /// Input stream `s`.
    Source(usize),
    /// An operation over its input nodes.
    Op {
        /// What it does.
        op: Op,
        /// Its input nodes, in order.
        inputs: Vec<Node>,
        /// `DStream.checkpoint(interval)`, when given.
        checkpoint_ms: Option<u64>,
    },
}

/// A window's length and slide in ms.
#[derive(Clone, Copy, Debug)]
pub struct WindowMs {
    /// Window length.
    pub length: u64,
    /// Slide.
    pub slide: u64,
}

/// The operations of the case vocabulary.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub enum Op {
    Map(Func),
    FlatMap(Func),
    Filter(Func),
    MapPartitions(Func),
    Reduce(Func),
    MapValues(Func),
    FlatMapValues(Func),
    Glom,
    Repartition(usize),
    Count,
    CountByValue,
    ReduceByKey(Func),
    GroupByKey,
    Union,
    ContextUnion,
    Transform(Func),
    TransformWith(Func),
    ContextTransform(Func),
    Cogroup,
    Join,
    LeftOuterJoin,
    RightOuterJoin,
    FullOuterJoin,
    UpdateStateByKey {
        f: Func,
        initial: Option<Vec<(Value, Value)>>,
    },
    Window(WindowMs),
    ReduceByKeyAndWindow {
        f: Func,
        window: WindowMs,
        inv: Option<Func>,
        filter: Option<Func>,
    },
    GroupByKeyAndWindow(WindowMs),
    CountByWindow(WindowMs),
    CountByValueAndWindow(WindowMs),
}

/// Reads the cases of a case file.
pub fn parse_file(text: &str) -> Result<Vec<Case>, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let cases = json
        .get("cases")
        .and_then(Json::as_array)
        .ok_or("the file has no \"cases\" array")?;
    cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let id = case.get("id").and_then(Json::as_str).map(String::from);
            let at = id.clone().unwrap_or_else(|| format!("#{}", i + 1));
            parse_case(case, id).map_err(|e| format!("case {at}: {e}"))
        })
        .collect()
}

fn parse_case(json: &Json, id: Option<String>) -> Result<Case, String> {
    let fields = json.as_object().ok_or("is not an object")?;
    let id = id.ok_or("field id: missing")?;
    let pipeline = parse_node(field(fields, "pipeline")?, "pipeline")?;
    let inputs = field(fields, "inputs")?
        .as_array()
        .ok_or("field inputs: not an array")?
        .iter()
        .enumerate()
        .map(|(s, source)| parse_source(source).map_err(|e| format!("field inputs[{s}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let expected = field(fields, "expected")?
        .as_array()
        .ok_or("field expected: not an array")?
        .iter()
        .enumerate()
        .map(|(j, batch)| {
            batch
                .as_array()
                .cloned()
                .ok_or(format!("field expected[{j}]: not an array"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let partitions = match fields.get("compare").and_then(Json::as_str) {
        None => None,
        Some("partitions") => Some(
            repartition_of(&pipeline)
                .ok_or("field compare: \"partitions\" needs a repartition op")?,
        ),
        Some(other) => return Err(format!("field compare: unknown comparison \"{other}\"")),
    };
    let sources = max_source(&pipeline).map_or(0, |s| s + 1);
    if inputs.len() < sources {
        return Err(format!(
            "field inputs: the pipeline reads source {} but there are {} inputs",
            sources - 1,
            inputs.len()
        ));
    }
    Ok(Case {
        id,
        batch_ms: positive(fields, "batch_ms", MAX_INTERVAL_MS)?,
        input_partitions: positive(fields, "input_partitions", MAX_PARTITIONS)? as usize,
        pipeline,
        inputs,
        expected,
        num_batches: positive(fields, "num_batches", MAX_BATCHES)? as usize,
        ordered: field(fields, "ordered")?
            .as_bool()
            .ok_or("field ordered: not a boolean")?,
        partitions,
    })
}

fn field<'a>(fields: &'a Map<String, Json>, name: &str) -> Result<&'a Json, String> {
    fields.get(name).ok_or(format!("field {name}: missing"))
}

/// A positive integer field, at most `max`.
fn positive(fields: &Map<String, Json>, name: &str, max: u64) -> Result<u64, String> {
    let n = field(fields, name)?
        .as_u64()
        .filter(|n| *n > 0)
        .ok_or(format!("field {name}: not a positive integer"))?;
    match n {
        n if n > max => Err(format!("field {name}: {n} is more than the limit of {max}")),
        n => Ok(n),
    }
}

fn parse_source(json: &Json) -> Result<Vec<Option<Vec<Value>>>, String> {
    json.as_array()
        .ok_or("not an array of batches")?
        .iter()
        .enumerate()
        .map(|(i, batch)| match batch {
            Json::Null => Ok(None),
            Json::Array(items) => items
                .iter()
                .map(Value::from_json)
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
                .map_err(|e| format!("batch {}: {e}", i + 1)),
            _ => Err(format!("batch {}: not an array or null", i + 1)),
        })
        .collect()
}

fn parse_node(json: &Json, at: &str) -> Result<Node, String> {
    let fields = json.as_object().ok_or(format!("{at}: not an object"))?;
    if let Some(source) = fields.get("src") {
        let s = source
            .as_u64()
            .ok_or(format!("{at}.src: not a source index"))?;
        return Ok(Node::Source(s as usize));
    }
    let name = fields
        .get("op")
        .and_then(Json::as_str)
        .ok_or(format!("{at}.op: missing"))?;
    let inputs = match (fields.get("input"), fields.get("inputs")) {
        (Some(input), None) => vec![parse_node(input, &format!("{at}.input"))?],
        (None, Some(Json::Array(inputs))) => inputs
            .iter()
            .enumerate()
            .map(|(i, n)| parse_node(n, &format!("{at}.inputs[{i}]")))
            .collect::<Result<_, _>>()?,
        _ => return Err(format!("{at}: needs \"input\" or an \"inputs\" array")),
    };
    let f = |key: &str| -> Result<Func, String> {
        let name_of = fields
            .get(key)
            .and_then(Json::as_str)
            .ok_or(format!("{at}.{key}: missing"))?;
        Func::parse(name_of, name, key).map_err(|e| format!("{at}.{key}: {e}"))
    };
    let optional_f = |key: &str| fields.get(key).map(|_| f(key)).transpose();
    let at_most = |key: &str, max: u64| {
        fields
            .get(key)
            .and_then(Json::as_u64)
            .filter(|n| *n > 0 && *n <= max)
            .ok_or(format!(
                "{at}.{key}: not a positive integer of at most {max}"
            ))
    };
    let ms = |key: &str| at_most(key, MAX_INTERVAL_MS);
    let window = || -> Result<WindowMs, String> {
        Ok(WindowMs {
            length: ms("window_ms")?,
            slide: ms("slide_ms")?,
        })
    };
    let op = match name {
        "map" => Op::Map(f("fn")?),
        "flat_map" => Op::FlatMap(f("fn")?),
        "filter" => Op::Filter(f("fn")?),
        "map_partitions" => Op::MapPartitions(f("fn")?),
        "reduce" => Op::Reduce(f("fn")?),
        "map_values" => Op::MapValues(f("fn")?),
        "flat_map_values" => Op::FlatMapValues(f("fn")?),
        "glom" => Op::Glom,
        "repartition" => Op::Repartition(at_most("n", MAX_PARTITIONS)? as usize),
        "count" => Op::Count,
        "count_by_value" => Op::CountByValue,
        "reduce_by_key" => Op::ReduceByKey(f("fn")?),
        "group_by_key" => Op::GroupByKey,
        "union" => Op::Union,
        "context_union" => Op::ContextUnion,
        "transform" => Op::Transform(f("fn")?),
        "transform_with" => Op::TransformWith(f("fn")?),
        "context_transform" => Op::ContextTransform(f("fn")?),
        "cogroup" => Op::Cogroup,
        "join" => Op::Join,
        "left_outer_join" => Op::LeftOuterJoin,
        "right_outer_join" => Op::RightOuterJoin,
        "full_outer_join" => Op::FullOuterJoin,
        "update_state_by_key" => Op::UpdateStateByKey {
            f: f("fn")?,
            initial: fields
                .get("initial")
                .map(|i| parse_initial(i, at))
                .transpose()?,
        },
        "window" => Op::Window(window()?),
        "reduce_by_key_and_window" => Op::ReduceByKeyAndWindow {
            f: f("fn")?,
            window: window()?,
            inv: optional_f("inv_fn")?,
            filter: optional_f("filter")?,
        },
        "group_by_key_and_window" => Op::GroupByKeyAndWindow(window()?),
        "count_by_window" => Op::CountByWindow(window()?),
        "count_by_value_and_window" => Op::CountByValueAndWindow(window()?),
        other => return Err(format!("{at}.op: unknown op \"{other}\"")),
    };
    let arity = match &op {
        Op::Union
        | Op::TransformWith(_)
        | Op::Cogroup
        | Op::Join
        | Op::LeftOuterJoin
        | Op::RightOuterJoin
        | Op::FullOuterJoin => Some(2),
        Op::ContextUnion | Op::ContextTransform(_) => None,
        _ => Some(1),
    };
    match arity {
        Some(n) if inputs.len() != n => {
            return Err(format!(
                "{at}: {name} takes {n} input(s), got {}",
                inputs.len()
            ))
        }
        None if inputs.is_empty() => return Err(format!("{at}: {name} needs at least one input")),
        _ => {}
    }
    let checkpoint_ms = fields
        .get("checkpoint_ms")
        .map(|_| ms("checkpoint_ms"))
        .transpose()?;
    Ok(Node::Op {
        op,
        inputs,
        checkpoint_ms,
    })
}

fn parse_initial(json: &Json, at: &str) -> Result<Vec<(Value, Value)>, String> {
    json.as_array()
        .ok_or(format!("{at}.initial: not an array of pairs"))?
        .iter()
        .map(|p| {
            Value::from_json(p)
                .and_then(Value::into_pair)
                .map_err(|e| format!("{at}.initial: {e}"))
        })
        .collect()
}

fn children(node: &Node) -> &[Node] {
    match node {
        Node::Source(_) => &[],
        Node::Op { inputs, .. } => inputs,
    }
}

fn max_source(node: &Node) -> Option<usize> {
    match node {
        Node::Source(s) => Some(*s),
        Node::Op { inputs, .. } => inputs.iter().filter_map(max_source).max(),
    }
}

fn repartition_of(node: &Node) -> Option<usize> {
    match node {
        Node::Op {
            op: Op::Repartition(n),
            ..
        } => Some(*n),
        other => children(other).iter().find_map(repartition_of),
    }
}
