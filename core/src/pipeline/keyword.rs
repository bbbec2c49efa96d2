//! Closed sets of keywords (`"MAP"`, `"SKIP"`, `"concat"`, ...) declared once:
//! the variant, its spelling in pipeline JSON, and the list shown in error
//! messages all come from the same line, so they cannot drift apart.

/// Declares a fieldless enum whose variants are spelled as the given strings.
/// Generates `ALL`, `as_str`, `from_name` (exact match: keywords are case
/// sensitive, like the JSON they come from) and `names` (for messages).
macro_rules! keywords {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            pub fn from_name(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|k| k.as_str() == s)
            }

            /// `"A", "B" or "C"`, for error messages.
            pub fn names() -> String {
                $crate::pipeline::keyword::join_names(
                    &Self::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                )
            }
        }

        /// Serialised as its keyword, so dry-run output reads like the input.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use keywords;

/// `"a", "b" or "c"`.
pub(crate) fn join_names(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    keywords! {
        enum Demo {
            One = "ONE",
            Two = "TWO",
        }
    }

    #[test]
    fn spelled_once_and_listed() {
        assert_eq!(Demo::from_name("ONE"), Some(Demo::One));
        assert_eq!(Demo::from_name("one"), None);
        assert_eq!(Demo::names(), r#""ONE" or "TWO""#);
        assert_eq!(Demo::Two.to_string(), "TWO");
    }
}
