use tonic::{Request, Response, Status};

use contracts::proto::ticketing::v1 as pb;
use contracts::proto::ticketing::v1::auth_service_server::AuthService;

use super::{TicketingApi, timestamp};
use crate::accounts::NewAccount;
use crate::errors::TicketingError;
use crate::store::users;

fn user_message(user: users::Model) -> pb::User {
    pb::User {
        user_id: Some(user.user_id),
        email: Some(user.email),
        name: Some(user.name),
        phone_number: user.phone_number,
        created_at: Some(timestamp(user.created_at)),
    }
}

#[tonic::async_trait]
impl AuthService for TicketingApi {
    async fn register(&self, request: Request<pb::RegisterRequest>) -> Result<Response<pb::User>, Status> {
        let body = request.into_inner();
        self.check(&body)?;
        let required = |field: &str, value: Option<String>| {
            value.filter(|v| !v.is_empty()).ok_or_else(|| TicketingError::unprocessable(field, "is required"))
        };
        let account = NewAccount {
            email: required("email", body.email)?,
            password: required("password", body.password)?,
            name: required("name", body.name)?,
            phone_number: body.phone_number.filter(|p| !p.is_empty()),
        };
        let user = self.service.register(account).await?;
        Ok(Response::new(user_message(user)))
    }

    async fn login(&self, request: Request<pb::LoginRequest>) -> Result<Response<pb::LoginResponse>, Status> {
        let body = request.into_inner();
        self.check(&body)?;
        let issued = self
            .service
            .login(body.email.as_deref().unwrap_or_default(), body.password.as_deref().unwrap_or_default())
            .await?;
        Ok(Response::new(pb::LoginResponse {
            access_token: Some(issued.access_token),
            token_type: Some("bearer".into()),
            expires_in: Some(issued.expires_in),
            user: Some(pb::login_response::UserInfo {
                user_id: Some(issued.user.user_id),
                email: Some(issued.user.email),
                name: Some(issued.user.name),
            }),
        }))
    }

    async fn get_current_user(&self, request: Request<pb::GetCurrentUserRequest>) -> Result<Response<pb::User>, Status> {
        let claims = self.service.authenticate(&request)?;
        let user = self.service.current_user(&claims).await?;
        Ok(Response::new(user_message(user)))
    }

    async fn get_jwks(&self, _request: Request<pb::GetJwksRequest>) -> Result<Response<pb::JsonWebKeySet>, Status> {
        let keys = self
            .service
            .keys()
            .public_keys()
            .components()
            .map(|(kid, x)| pb::JsonWebKey {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                kid: kid.to_owned(),
                x: x.to_owned(),
                alg: "EdDSA".into(),
            })
            .collect();
        Ok(Response::new(pb::JsonWebKeySet { keys }))
    }
}
