//! Typed identifiers, so a team id cannot be passed where a scenario id is meant.

use rand::Rng;

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord,
            diesel_derive_newtype::DieselNewType, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// A fresh random id with the type's prefix.
            #[allow(dead_code, reason = "not every id kind is minted by the platform")]
            pub fn generate() -> Self {
                Self(random_id($prefix))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

text_id!(
    /// An organisation (department): a short slug such as `konggang`.
    OrganizationId, "org"
);
text_id!(
    /// A person who signs in.
    UserId, "usr"
);
text_id!(
    /// An API token's public id (never the secret).
    TokenId, "tok"
);
text_id!(
    /// A team of a university or company.
    TeamId, "team"
);
text_id!(
    /// An invitation to join a team.
    InvitationId, "inv"
);
text_id!(
    /// A scenario: a slug such as `konggang-parcel-eta`.
    ScenarioId, "scn"
);
text_id!(
    /// A phase of a scenario.
    PhaseId, "ph"
);
text_id!(
    /// A team's enrolment (揭榜) in a scenario.
    EnrolmentId, "enr"
);
text_id!(
    /// A submitted image.
    SubmissionId, "sub"
);
text_id!(
    /// An objection to an announced award.
    ObjectionId, "obj"
);

/// `prefix_` followed by 16 lowercase hex digits of randomness: unguessable, URL-safe.
pub fn random_id(prefix: &str) -> String {
    let bits: u64 = rand::rng().random();
    format!("{prefix}_{bits:016x}")
}
text_id!(
    /// An evaluation job of a submission.
    JobId, "job"
);
text_id!(
    /// A registered evaluation worker.
    WorkerId, "wrk"
);
text_id!(
    /// A judge's review of a submission.
    ReviewId, "rev"
);
text_id!(
    /// A compute voucher (算力券) issued to an organisation.
    VoucherId, "vch"
);
text_id!(
    /// A price of a device-hour or CPU-core-hour, valid for a period.
    PriceId, "price"
);
