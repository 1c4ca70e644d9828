//! Closed sets of values kept as text: the one mapping between such an enum and a database
//! `TEXT` column, and the error for a text that names no member.

/// A text that is not one of a closed set's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a {kind}; expected one of: {expected}")]
pub struct UnknownName {
    /// What the set is, for example `job status`.
    pub kind: &'static str,
    /// The text found.
    pub value: String,
    /// The names the set has, comma-separated.
    pub expected: String,
}

/// Maps an enum to a diesel `Text` column through its `as_str(self) -> &'static str` and its
/// `FromStr`, on every backend. The type must also derive `diesel::AsExpression` and
/// `diesel::FromSqlRow` with `#[diesel(sql_type = diesel::sql_types::Text)]`. A stored text
/// that names no member fails the query with the `FromStr` error, never a silent default.
#[macro_export]
macro_rules! text_sql {
    ($name:ty) => {
        impl<DB> ::diesel::serialize::ToSql<::diesel::sql_types::Text, DB> for $name
        where
            DB: ::diesel::backend::Backend,
            str: ::diesel::serialize::ToSql<::diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut ::diesel::serialize::Output<'b, '_, DB>,
            ) -> ::diesel::serialize::Result {
                <str as ::diesel::serialize::ToSql<::diesel::sql_types::Text, DB>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl<DB> ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB> for $name
        where
            DB: ::diesel::backend::Backend,
            String: ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> ::diesel::deserialize::Result<Self> {
                let text = <String as ::diesel::deserialize::FromSql<
                    ::diesel::sql_types::Text,
                    DB,
                >>::from_sql(bytes)?;
                Ok(text.parse::<$name>()?)
            }
        }
    };
}

/// Declares a closed set of values named by texts: the enum with `as_str`, `ALL`,
/// `Display`, `FromStr` (an [`UnknownName`] naming the value and the set) and serde as the
/// text. `sql` first also maps it to a diesel `Text` column through [`text_sql!`].
#[macro_export]
macro_rules! text_enum {
    (sql; $(#[$meta:meta])* $vis:vis enum $name:ident : $kind:literal {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
    }) => {
        $crate::text_enum!(@define
            [#[derive(::diesel::AsExpression, ::diesel::FromSqlRow)]
             #[diesel(sql_type = ::diesel::sql_types::Text)]]
            $(#[$meta])* $vis enum $name : $kind { $($(#[$vmeta])* $variant = $text),+ });
        $crate::text_sql!($name);
    };
    // Inside this crate: the mapping exists when the `diesel` feature is on.
    (optional_sql; $(#[$meta:meta])* $vis:vis enum $name:ident : $kind:literal {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
    }) => {
        $crate::text_enum!(@define
            [#[cfg_attr(feature = "diesel", derive(::diesel::AsExpression, ::diesel::FromSqlRow),
                        diesel(sql_type = ::diesel::sql_types::Text))]]
            $(#[$meta])* $vis enum $name : $kind { $($(#[$vmeta])* $variant = $text),+ });
        #[cfg(feature = "diesel")]
        $crate::text_sql!($name);
    };
    ($(#[$meta:meta])* $vis:vis enum $name:ident : $kind:literal {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
    }) => {
        $crate::text_enum!(@define []
            $(#[$meta])* $vis enum $name : $kind { $($(#[$vmeta])* $variant = $text),+ });
    };
    (@define [$($extra:tt)*] $(#[$meta:meta])* $vis:vis enum $name:ident : $kind:literal {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal),+
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $($extra)*
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every member, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::text::UnknownName;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    $($text => Ok(Self::$variant),)+
                    _ => Err($crate::text::UnknownName {
                        kind: $kind,
                        value: value.to_owned(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                text.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    crate::text_enum! {
        /// A test set.
        enum Colour: "colour" { Red = "red", DarkBlue = "dark_blue" }
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_named() {
        for colour in Colour::ALL {
            assert_eq!(colour.as_str().parse::<Colour>().unwrap(), *colour);
        }
        let error = "green".parse::<Colour>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "`green` is not a colour; expected one of: red, dark_blue"
        );
        assert_eq!(
            serde_json::to_string(&Colour::DarkBlue).unwrap(),
            "\"dark_blue\""
        );
        assert_eq!(
            serde_json::from_str::<Colour>("\"red\"").unwrap(),
            Colour::Red
        );
        assert!(serde_json::from_str::<Colour>("\"Red\"").is_err());
    }
}
