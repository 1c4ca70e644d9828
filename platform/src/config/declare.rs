//! How a configuration key is declared once: the `settings!` macro and what it derives.
//!
//! From one declaration (doc comment, name, type, default) come the struct field, its
//! default, its place in the file, its environment variable (`JIEBANG_<SECTION>_<KEY>`
//! unless `#[env = "…"]` keeps an older name) and how a variable's or a flag's text is read.

use std::path::PathBuf;

/// One key as the file, the environment and the flags name it.
#[derive(Debug, Clone)]
pub struct Key {
    /// Its place in the file: `bind`, `worker.cpuset`.
    pub path: String,
    /// The environment variable that overrides the file.
    pub variable: String,
    /// Its doc comment.
    pub doc: &'static str,
    /// Reads the text of a variable or a flag as the file's value would be written.
    pub parse: fn(&str) -> Result<toml::Value, String>,
}

impl Key {
    /// A key of the section at `prefix` (`""` or `"worker."`), called by `settings!`.
    pub fn new(
        prefix: &str,
        name: &str,
        variable: &[&str],
        doc: &'static str,
        parse: fn(&str) -> Result<toml::Value, String>,
    ) -> Self {
        let path = format!("{prefix}{name}");
        let variable = variable.first().map_or_else(
            || format!("JIEBANG_{}", path.replace('.', "_").to_uppercase()),
            |v| (*v).to_owned(),
        );
        Self {
            path,
            variable,
            doc,
            parse,
        }
    }

    /// The first sentence of its doc, for a flag's help.
    pub fn summary(&self) -> String {
        let text = self.doc.split_whitespace().collect::<Vec<_>>().join(" ");
        match text.split_once(". ") {
            Some((first, _)) => format!("{first}."),
            None => text,
        }
    }
}

/// A table of the configuration file, declared with `settings!`.
pub trait Section {
    /// Appends its keys, and those of the sections inside it, placed under `prefix`.
    fn keys(prefix: &str, out: &mut Vec<Key>);
}

impl<T: Section> Section for Option<T> {
    fn keys(prefix: &str, out: &mut Vec<Key>) {
        T::keys(prefix, out);
    }
}

/// A type a key may have, read from the text of an environment variable or a flag.
pub trait FromText {
    fn from_text(text: &str) -> Result<toml::Value, String>;
}

impl FromText for String {
    fn from_text(text: &str) -> Result<toml::Value, String> {
        Ok(toml::Value::String(text.to_owned()))
    }
}

impl FromText for PathBuf {
    fn from_text(text: &str) -> Result<toml::Value, String> {
        String::from_text(text)
    }
}

impl<T: FromText> FromText for Option<T> {
    fn from_text(text: &str) -> Result<toml::Value, String> {
        T::from_text(text)
    }
}

impl FromText for bool {
    fn from_text(text: &str) -> Result<toml::Value, String> {
        match text {
            "1" | "true" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "0" | "false" | "no" | "off" => Ok(toml::Value::Boolean(false)),
            _ => Err("must be true or false".to_owned()),
        }
    }
}

macro_rules! whole_numbers {
    ($($number:ty),*) => {$(
        impl FromText for $number {
            fn from_text(text: &str) -> Result<toml::Value, String> {
                text.trim()
                    .parse::<$number>()
                    .ok()
                    .and_then(|n| i64::try_from(n).ok())
                    .map(toml::Value::Integer)
                    .ok_or_else(|| "must be a whole number".to_owned())
            }
        }
    )*};
}

whole_numbers!(u32, u64);

impl FromText for f64 {
    fn from_text(text: &str) -> Result<toml::Value, String> {
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(toml::Value::Float)
            .ok_or_else(|| "must be a number".to_owned())
    }
}

/// Declares a configuration section: a struct whose fields are its keys, each with a doc
/// comment, a type, a default (a key without one must be given whenever the section is),
/// and optionally `#[env = "NAME"]`; then optionally `sections { … }`, the tables inside
/// it. Unknown keys are an error. A section whose keys all have defaults gets `Default`.
macro_rules! settings {
    (
        $(#[doc = $sdoc:literal])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $(#[env = $env:literal])?
                pub $field:ident: $ty:ty = $default:expr,
            )*
        }
        $(sections {
            $( $(#[doc = $secdoc:literal])+ pub $section:ident: $sty:ty, )*
        })?
    ) => {
        impl Default for $name {
            fn default() -> Self {
                Self {
                    $( $field: $default, )*
                    $($( $section: Default::default(), )*)?
                }
            }
        }
        $crate::config::declare::settings! {
            @section
            $(#[doc = $sdoc])*
            pub struct $name {
                $( $(#[doc = $doc])+ $(#[env = $env])? pub $field: $ty = $default, )*
            }
            $(sections { $( $(#[doc = $secdoc])+ pub $section: $sty, )* })?
        }
    };
    (
        $(#[doc = $sdoc:literal])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $(#[env = $env:literal])?
                pub $field:ident: $ty:ty $(= $default:expr)?,
            )*
        }
    ) => {
        $crate::config::declare::settings! {
            @section
            $(#[doc = $sdoc])*
            pub struct $name {
                $( $(#[doc = $doc])+ $(#[env = $env])? pub $field: $ty $(= $default)?, )*
            }
        }
    };
    (
        @section
        $(#[doc = $sdoc:literal])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $(#[env = $env:literal])?
                pub $field:ident: $ty:ty $(= $default:expr)?,
            )*
        }
        $(sections {
            $( $(#[doc = $secdoc:literal])+ pub $section:ident: $sty:ty, )*
        })?
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            $( $(#[doc = $doc])+ pub $field: $ty, )*
            $($( $(#[doc = $secdoc])+ pub $section: $sty, )*)?
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #[derive(serde::Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Raw {
                    $( #[serde(default)] $field: Option<$ty>, )*
                    $($( #[serde(default)] $section: $sty, )*)?
                }
                let raw = Raw::deserialize(deserializer)?;
                Ok(Self {
                    $( $field: $crate::config::declare::settings!(@value raw.$field, $field $(, $default)?), )*
                    $($( $section: raw.$section, )*)?
                })
            }
        }

        impl $crate::config::declare::Section for $name {
            fn keys(prefix: &str, out: &mut Vec<$crate::config::declare::Key>) {
                $(
                    out.push($crate::config::declare::Key::new(
                        prefix,
                        stringify!($field),
                        &[$($env)?],
                        concat!($($doc, "\n"),+),
                        <$ty as $crate::config::declare::FromText>::from_text,
                    ));
                )*
                $($(
                    <$sty as $crate::config::declare::Section>::keys(
                        &format!("{prefix}{}.", stringify!($section)),
                        out,
                    );
                )*)?
            }
        }
    };
    (@value $value:expr, $field:ident, $default:expr) => {
        match $value {
            Some(value) => value,
            None => $default,
        }
    };
    (@value $value:expr, $field:ident) => {
        match $value {
            Some(value) => value,
            None => return Err(serde::de::Error::missing_field(stringify!($field))),
        }
    };
}

pub(crate) use settings;
