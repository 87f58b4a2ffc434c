//! The tonic side of the User Service: proto ⇄ domain, nothing else.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use contracts::proto::user::v1 as pb;
use contracts::proto::user::v1::user_service_server::UserService as UserServiceRpc;
use contracts::Contracts;
use service_core::grpc::{authenticate, check_contract};

use crate::domain::{TokenPair, UserProfile, UserService};
use crate::errors::UserError;
use crate::AUDIENCE;

#[derive(Clone)]
pub struct UserApi {
    service: Arc<UserService>,
    contracts: Arc<Contracts>,
    /// The published keys, built once: the signing keys are fixed for the life of the process.
    jwks: pb::JsonWebKeySet,
}

impl UserApi {
    pub fn new(service: Arc<UserService>, contracts: Arc<Contracts>) -> Self {
        let jwks = jwks(&service);
        Self { service, contracts, jwks }
    }

    /// Direct gRPC callers skip the gateway: the contract's limits are checked here too.
    fn check<M: prost::Message + prost::Name>(&self, request: &M) -> Result<(), UserError> {
        check_contract(&self.contracts, request).map_err(|violation| UserError::Validation(violation.to_string()))
    }

    pub fn into_server(self) -> pb::user_service_server::UserServiceServer<Self> {
        pb::user_service_server::UserServiceServer::new(self)
    }
}

fn jwks(service: &UserService) -> pb::JsonWebKeySet {
    let keys = service
        .keys()
        .public_keys()
        .components()
        .map(|(kid, x)| pb::JsonWebKey {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            kid: kid.to_owned(),
            x: x.to_owned(),
            alg: "EdDSA".into(),
            r#use: "sig".into(),
        })
        .collect();
    pb::JsonWebKeySet { keys }
}

fn timestamp(seconds: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos: 0 }
}

fn user_info(profile: UserProfile) -> pb::UserInfo {
    pb::UserInfo {
        user_id: profile.user_id,
        username: profile.username,
        name: profile.name,
        email: profile.email,
        department: profile.department,
        title: profile.title,
        roles: profile.roles,
    }
}

impl From<TokenPair> for pb::RefreshTokenResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: pb::TokenType::Bearer as i32,
            expires_in: pair.expires_in,
        }
    }
}

#[tonic::async_trait]
impl UserServiceRpc for UserApi {
    async fn login(&self, request: Request<pb::LoginRequest>) -> Result<Response<pb::LoginResponse>, Status> {
        let body = request.into_inner();
        self.check(&body)?;
        let (pair, profile) = self.service.login(&body.username, &body.password).await?;
        Ok(Response::new(pb::LoginResponse {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: pb::TokenType::Bearer as i32,
            expires_in: pair.expires_in,
            user: Some(user_info(profile)),
        }))
    }

    async fn refresh_token(
        &self,
        request: Request<pb::RefreshTokenRequest>,
    ) -> Result<Response<pb::RefreshTokenResponse>, Status> {
        let body = request.into_inner();
        self.check(&body)?;
        let pair = self.service.refresh(&body.refresh_token).await?;
        Ok(Response::new(pair.into()))
    }

    async fn logout(&self, request: Request<pb::LogoutRequest>) -> Result<Response<pb::LogoutResponse>, Status> {
        let claims = authenticate(&request, self.service.verifier(), AUDIENCE).map_err(|_| UserError::InvalidToken)?;
        self.service.logout(&claims).await?;
        Ok(Response::new(pb::LogoutResponse {
            message: "로그아웃되었습니다".into(),
            timestamp: Some(timestamp(chrono::Utc::now().timestamp())),
        }))
    }

    async fn validate_token(
        &self,
        request: Request<pb::ValidateTokenRequest>,
    ) -> Result<Response<pb::ValidateTokenResponse>, Status> {
        let claims = authenticate(&request, self.service.verifier(), AUDIENCE).map_err(|_| UserError::InvalidToken)?;
        let include_user = request.get_ref().include_user_info;
        let validated = self.service.validate(claims, include_user).await?;
        let claims = validated.claims;
        Ok(Response::new(pb::ValidateTokenResponse {
            valid: true,
            user_id: claims.sub,
            username: claims.username,
            roles: claims.roles,
            expires_at: Some(timestamp(claims.exp)),
            user: validated.user.map(user_info),
        }))
    }

    async fn get_jwks(&self, _request: Request<pb::GetJwksRequest>) -> Result<Response<pb::JsonWebKeySet>, Status> {
        Ok(Response::new(self.jwks.clone()))
    }
}
