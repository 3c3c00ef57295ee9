//! Paths to a part of a value (`pose.position[2]`, `boxes[1].corner`), as tools name them: one
//! parser for the schema's [`locate`](super::SchemaDesc::locate) and a value tree's
//! [`at`](crate::dynamic::Value::at).

/// One step of a path: an array's element or a struct's field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step<'a> {
    Index(u64),
    Field(&'a str),
}

/// The steps of `path` in order, or what is wrong with it (the message names the path).
pub(crate) fn steps(path: &str) -> Result<Vec<Step<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or_else(|| format!("`{path}`: no `]` after `[`"))?;
            let index = r[..end]
                .parse()
                .map_err(|_| format!("`{path}`: `{}` is not an index", &r[..end]))?;
            out.push(Step::Index(index));
            rest = &r[end + 1..];
        } else {
            let r = rest.strip_prefix('.').unwrap_or(rest);
            let end = r.find(['.', '[']).unwrap_or(r.len());
            out.push(Step::Field(&r[..end]));
            rest = &r[end..];
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_steps() {
        assert_eq!(steps(""), Ok(vec![]));
        assert_eq!(
            steps("pose.position[2]"),
            Ok(vec![
                Step::Field("pose"),
                Step::Field("position"),
                Step::Index(2)
            ])
        );
        assert_eq!(steps("[1][0]"), Ok(vec![Step::Index(1), Step::Index(0)]));
        assert!(steps("a[x]").unwrap_err().contains("`x` is not an index"));
        assert!(steps("a[1").unwrap_err().contains("no `]`"));
    }
}
