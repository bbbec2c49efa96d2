//! `text_enum!`: a closed set of values stored as text (a status column and its CHECK
//! constraint), declared once: the enum, `ALL`, `as_str`, `parse` (the exact spelling
//! only) and `Display`. What differs between them (transitions, predicates) is written
//! beside, in a plain `impl`.

#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            pub const ALL: [Self; [$($text),+].len()] = [$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|x| x.as_str() == s)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::text_enum! {
        /// A probe.
        enum Probe {
            One => "ONE",
            /// with a doc
            Two => "TWO",
        }
    }

    #[test]
    fn declares_the_spelling_once() {
        assert_eq!(Probe::ALL, [Probe::One, Probe::Two]);
        assert_eq!(Probe::Two.as_str(), "TWO");
        assert_eq!(Probe::parse("ONE"), Some(Probe::One));
        assert_eq!(Probe::parse("one"), None);
        assert_eq!(Probe::One.to_string(), "ONE");
    }
}
