//! KT event marketing: Event Service.
