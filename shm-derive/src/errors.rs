//! The errors a derive collects while reading and validating its input, reported together: a
//! leaf module that every step (`ast`, `attr`, `valid`) writes to and none depends on.

/// Errors collected while reading and validating, all reported together.
#[derive(Default)]
pub(crate) struct Errors(Vec<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, e: syn::Error) {
        self.0.push(e);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every error as one `syn::Error`.
    pub(crate) fn combined(self) -> Option<syn::Error> {
        self.0.into_iter().reduce(|mut a, b| {
            a.combine(b);
            a
        })
    }
}
