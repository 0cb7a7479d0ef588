//! How elements print: Scala's `toString` for the types Spark programs print.
//!
//! `print()` and `saveAsTextFiles` write each element's string form. Rust's `Display` has no
//! impl for tuples and `Debug` quotes strings, so neither reads like Spark's output; [`Show`]
//! gives the Scala form — `(a,1)` for a pair, `Some(3)` / `None` for options — and is easy to
//! implement for a program's own types. Sequences print as Scala's `List(1, 2)`.
//!
//! ```
//! use sluice_minibatch::Show;
//! assert_eq!(("word".to_string(), 3u64).show(), "(word,3)");
//! assert_eq!((1i64, (Some(2i64), None::<i64>)).show(), "(1,(Some(2),None))");
//! assert_eq!(vec![1u64, 2].show(), "List(1, 2)");
//! ```

/// An element's printed form.
pub trait Show {
    /// The string `print()` and `save_as_text_files` write for this element.
    fn show(&self) -> String;
}

macro_rules! show_with_display {
    ($($t:ty),*) => {$(
        impl Show for $t {
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

show_with_display!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64, bool, char, String,
    str
);

impl<T: Show + ?Sized> Show for &T {
    fn show(&self) -> String {
        (**self).show()
    }
}

impl<A: Show, B: Show> Show for (A, B) {
    fn show(&self) -> String {
        format!("({},{})", self.0.show(), self.1.show())
    }
}

impl<A: Show, B: Show, C: Show> Show for (A, B, C) {
    fn show(&self) -> String {
        format!("({},{},{})", self.0.show(), self.1.show(), self.2.show())
    }
}

impl<T: Show> Show for Option<T> {
    fn show(&self) -> String {
        match self {
            Some(x) => format!("Some({})", x.show()),
            None => "None".to_string(),
        }
    }
}

impl<T: Show> Show for Vec<T> {
    fn show(&self) -> String {
        let items: Vec<String> = self.iter().map(Show::show).collect();
        format!("List({})", items.join(", "))
    }
}

impl Show for () {
    fn show(&self) -> String {
        "()".to_string()
    }
}
