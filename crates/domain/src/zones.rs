//! The time zones a phone number may be in, from libphonenumber's own
//! prefix-to-time-zone map (`data/timezones/`, compiled into the binary),
//! looked up as libphonenumber's `PhoneNumberToTimeZonesMapper` does.
//!
//! Each distinct list of zones in the map is a [`ZoneSet`], numbered by
//! its place in the sorted lists; contacts store that number, so a listing
//! asks "which of the sets are inside the hours now" once per set instead
//! of once per row. The numbering belongs to one version of the map
//! ([`SOURCE`]); the store renumbers its rows when the version changes.

use std::collections::HashMap;
use std::sync::OnceLock;

use jiff::tz::{TimeZone, TimeZoneDatabase};
use phonenumber::Type;

/// The libphonenumber release the map comes from.
pub const SOURCE: &str = "libphonenumber 9.0.33";

/// What a number whose zone is unknown is judged in.
pub const UNKNOWN_ZONE: &str = "Etc/UTC";

const MAP: &str = include_str!("../data/timezones/map_data.txt");

/// Country codes whose mobile numbers are tied to a place
/// (libphonenumber's `GEO_MOBILE_COUNTRIES`): China, Mexico, Argentina,
/// Brazil, Indonesia.
const GEO_MOBILE_COUNTRIES: [u16; 5] = [86, 52, 54, 55, 62];

/// One distinct list of time zones; 0 is "unknown" (judged in UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ZoneSet(u16);

struct Map {
    /// Prefix digits (country code first) to set number.
    by_prefix: HashMap<&'static str, u16>,
    longest: usize,
    /// Zone names of each set; index 0 is `[UNKNOWN_ZONE]`.
    names: Vec<Vec<&'static str>>,
}

fn map() -> &'static Map {
    static MAP_DATA: OnceLock<Map> = OnceLock::new();
    MAP_DATA.get_or_init(|| {
        let entries: Vec<(&str, &str)> = MAP
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| line.split_once('|'))
            .collect();
        let mut lists: Vec<&str> = entries.iter().map(|(_, zones)| *zones).collect();
        lists.sort_unstable();
        lists.dedup();
        let number_of = |zones: &str| {
            u16::try_from(lists.binary_search(&zones).expect("listed") + 1).expect("few sets")
        };
        let by_prefix = entries
            .iter()
            .map(|(prefix, zones)| (*prefix, number_of(zones)))
            .collect();
        let longest = entries.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
        let mut names = vec![vec![UNKNOWN_ZONE]];
        names.extend(lists.iter().map(|zones| zones.split('&').collect()));
        Map {
            by_prefix,
            longest,
            names,
        }
    })
}

/// Every set's zones, read from the tz database compiled into the binary
/// (never the system's, so every machine judges alike).
fn time_zones() -> &'static Vec<Vec<TimeZone>> {
    static ZONES: OnceLock<Vec<Vec<TimeZone>>> = OnceLock::new();
    ZONES.get_or_init(|| {
        let db = TimeZoneDatabase::bundled();
        map()
            .names
            .iter()
            .map(|names| {
                names
                    .iter()
                    .map(|name| db.get(name).unwrap_or(TimeZone::UTC))
                    .collect()
            })
            .collect()
    })
}

impl ZoneSet {
    pub const UNKNOWN: ZoneSet = ZoneSet(0);

    /// The set of a valid number, given its type, country code and E.164
    /// digits (without `+`).
    pub(crate) fn of(kind: Type, country_code: u16, digits: &str) -> ZoneSet {
        let map = map();
        let geographic = matches!(kind, Type::FixedLine | Type::FixedLineOrMobile)
            || (kind == Type::Mobile && GEO_MOBILE_COUNTRIES.contains(&country_code));
        let found = if geographic {
            (1..=map.longest.min(digits.len()))
                .rev()
                .find_map(|len| map.by_prefix.get(&digits[..len]))
        } else {
            map.by_prefix.get(country_code.to_string().as_str())
        };
        found.map_or(ZoneSet::UNKNOWN, |&n| ZoneSet(n))
    }

    /// The set stored as `number` (an unknown number reads as UNKNOWN).
    pub fn from_stored(number: i64) -> ZoneSet {
        u16::try_from(number)
            .ok()
            .filter(|&n| usize::from(n) < map().names.len())
            .map_or(ZoneSet::UNKNOWN, ZoneSet)
    }

    pub fn number(self) -> i64 {
        i64::from(self.0)
    }

    /// The zone names, as libphonenumber spells them.
    pub fn names(self) -> &'static [&'static str] {
        &map().names[usize::from(self.0)]
    }

    /// The zones themselves.
    pub fn time_zones(self) -> &'static [TimeZone] {
        &time_zones()[usize::from(self.0)]
    }

    /// Every set the map holds, unknown first.
    pub fn all() -> impl Iterator<Item = ZoneSet> {
        (0..map().names.len()).map(|n| ZoneSet(u16::try_from(n).expect("few sets")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PhoneNumber;

    fn names(text: &str) -> Vec<&'static str> {
        PhoneNumber::parse(text).unwrap().zones().names().to_vec()
    }

    #[test]
    fn numbers_get_their_zones() {
        assert_eq!(names("+919876543210"), ["Asia/Calcutta"]);
        assert_eq!(
            names("+447911123456"),
            [
                "Europe/Guernsey",
                "Europe/Isle_of_Man",
                "Europe/Jersey",
                "Europe/London"
            ]
        );
        assert_eq!(names("+442079460958"), ["Europe/London"]);
        assert_eq!(names("+14155552671"), ["America/Los_Angeles"]);
        assert_eq!(names("+12125550123"), ["America/New_York"]);
        // A Norwegian UAN, national number 02027: not geographic, so the
        // whole country (vendor/phonenumber keeps the leading zero).
        assert_eq!(names("+4702027"), ["Arctic/Longyearbyen", "Europe/Oslo"]);
        // A Brazilian mobile is geographic: São Paulo's area code.
        assert_eq!(names("+5511987654321"), ["America/Sao_Paulo"]);
    }

    #[test]
    fn every_zone_of_the_map_is_in_the_compiled_tz_database() {
        let db = TimeZoneDatabase::bundled();
        let missing: Vec<&str> = map()
            .names
            .iter()
            .flatten()
            .copied()
            .filter(|name| db.get(name).is_err())
            .collect();
        assert!(missing.is_empty(), "{missing:?}");
        assert!(ZoneSet::all().count() > 300);
    }

    #[test]
    fn stored_numbers_outside_the_map_read_as_unknown() {
        assert_eq!(ZoneSet::from_stored(-1), ZoneSet::UNKNOWN);
        assert_eq!(ZoneSet::from_stored(1 << 20), ZoneSet::UNKNOWN);
        assert_eq!(ZoneSet::UNKNOWN.names(), [UNKNOWN_ZONE]);
    }
}
