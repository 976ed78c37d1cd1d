//! Synthetic values for seeded rows: one per declared type, distinct per
//! row number, within the column's declared length or precision.

use super::Column;

/// `n` in base 36, at most `width` characters (its last ones).
pub(super) fn base36(mut n: i64, width: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    n = n.abs();
    let mut s = Vec::new();
    loop {
        s.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    s.reverse();
    let start = s.len().saturating_sub(width);
    String::from_utf8_lossy(&s[start..]).into_owned()
}

/// A date (`YYYY-MM-DD`), different for every `n`.
pub(super) fn date(n: i64) -> String {
    let n = n.rem_euclid(28 * 12 * 7000);
    let day = n % 28 + 1;
    let month = (n / 28) % 12 + 1;
    let year = 2024 + n / (28 * 12);
    format!("{year:04}-{month:02}-{day:02}")
}

pub(super) fn time(n: i64) -> String {
    let s = n.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A synthetic value (the text of a literal) for a column, or `None` when
/// twice does not know its type.
pub(super) fn synthetic(col: &Column, n: i64) -> Option<String> {
    let typmod = col.typmod;
    if col.typtype == 'e' {
        if col.enum_labels.is_empty() {
            return None;
        }
        return Some(col.enum_labels[n.rem_euclid(col.enum_labels.len() as i64) as usize].clone());
    }
    if col.typtype == 'r' {
        return Some("empty".into());
    }
    if col.typtype == 'm' || col.category == 'A' {
        return Some("{}".into());
    }
    let v = match col.ty.as_str() {
        "bool" => if n % 2 == 0 { "true" } else { "false" }.to_string(),
        "int2" => (n % 32_767).to_string(),
        "int4" | "int8" | "oid" | "money" => n.to_string(),
        "float4" | "float8" => format!("{n}.5"),
        "numeric" => {
            if typmod < 4 {
                n.to_string()
            } else {
                let precision = ((typmod - 4) >> 16) & 0xffff;
                let scale = (typmod - 4) & 0xffff;
                let int_digits = (precision - scale).clamp(0, 18) as u32;
                if int_digits > 0 {
                    (n % 10i64.pow(int_digits)).to_string()
                } else if scale > 0 {
                    let digits = scale.min(18) as u32;
                    format!("0.{:0w$}", n % 10i64.pow(digits), w = digits as usize)
                } else {
                    "0".into()
                }
            }
        }
        "date" => date(n),
        "timestamp" => format!("{} 12:00:00", date(n)),
        "timestamptz" => format!("{} 12:00:00+00", date(n)),
        "time" => time(n),
        "timetz" => format!("{}+00", time(n)),
        "interval" => format!("{n} minutes"),
        "uuid" => format!("00000000-0000-4000-8000-{:012x}", n & 0xffff_ffff_ffff),
        "json" | "jsonb" => "{}".into(),
        "bytea" => format!("seed-{n}"),
        "inet" => format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255),
        "cidr" => format!("10.{}.{}.{}/32", (n >> 16) & 255, (n >> 8) & 255, n & 255),
        "macaddr" => format!(
            "08:00:2b:{:02x}:{:02x}:{:02x}",
            (n >> 16) & 255,
            (n >> 8) & 255,
            n & 255
        ),
        "xml" => format!("<seed>{n}</seed>"),
        "point" => format!("({n},{n})"),
        "tsvector" | "tsquery" => format!("seed{n}"),
        "bit" | "varbit" => {
            let bits = format!("{:b}", n.abs());
            let len = if typmod > 0 {
                typmod as usize
            } else if col.ty == "bit" {
                1
            } else {
                bits.len()
            };
            let bits = if bits.len() >= len {
                bits[bits.len() - len..].to_string()
            } else if col.ty == "bit" {
                format!("{bits:0>len$}")
            } else {
                bits
            };
            bits
        }
        _ if col.category == 'S' => {
            // varchar(n), char(n): typmod is n + 4; `name` holds 63 bytes.
            let limit = match col.ty.as_str() {
                "varchar" | "bpchar" if typmod >= 5 => (typmod - 4) as usize,
                "name" => 63,
                "char" => 1,
                _ => usize::MAX,
            };
            let lower = col.name.to_ascii_lowercase();
            let s = if lower.contains("email") {
                format!("seed{n}@example.com")
            } else {
                format!("{} {n}", col.name)
            };
            if s.len() <= limit && s.is_ascii() {
                s
            } else {
                base36(n, limit)
            }
        }
        _ if col.category == 'N' => n.to_string(),
        _ => return None,
    };
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_fit_their_types() {
        let col = |ty: &str, category: char, typmod: i32| Column {
            name: "title".into(),
            quoted: "title".into(),
            ty: ty.into(),
            category,
            typtype: 'b',
            typmod,
            enum_labels: Vec::new(),
            notnull: true,
            plain_default: false,
            skip: false,
            numbered: false,
            key: false,
            literals: Vec::new(),
            attnum: 1,
            ident: 0,
        };
        assert_eq!(
            synthetic(&col("varchar", 'S', 4 + 40), 7).unwrap(),
            "title 7"
        );
        assert_eq!(synthetic(&col("bpchar", 'S', 4 + 2), 40).unwrap(), "14");
        assert_eq!(
            synthetic(&col("numeric", 'N', ((3 << 16) | 1) + 4), 1234).unwrap(),
            "34"
        );
        assert_eq!(
            synthetic(&col("uuid", 'U', -1), 10).unwrap(),
            "00000000-0000-4000-8000-00000000000a"
        );
        assert_eq!(synthetic(&col("bit", 'V', 3), 5).unwrap(), "101");
        assert_eq!(synthetic(&col("bit", 'V', 4), 5).unwrap(), "0101");
        assert_eq!(date(0), "2024-01-01");
        assert_ne!(date(28), date(0));
        assert!(synthetic(&col("pg_lsn", 'U', -1), 1).is_none());
    }
}
