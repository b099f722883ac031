-- Asking to join a team and answering a request, each one call (docs/invariants.md, "Teams"): the
-- locks are taken and released inside one statement, in the order of every team operation — the
-- requester's users row, then the team's row, then the request's — instead of across a client's
-- round trips. Outcomes are returned, not raised: the service turns them into the contract's errors.

-- team_request_to_join: 'requested' (with the team's owner, for the event), or 'not_found',
-- 'in_a_team', 'full', 'duplicate'. Nothing is written unless 'requested'.
CREATE FUNCTION team_request_to_join(p_team_id TEXT, p_user_id TEXT, p_message TEXT)
RETURNS TABLE ("outcome" TEXT, "requestId" TEXT, "ownerId" TEXT)
LANGUAGE plpgsql AS $$
DECLARE
  v_team teams%ROWTYPE;
  v_owner TEXT;
  v_id TEXT := gen_random_uuid()::text;
BEGIN
  PERFORM 1 FROM users WHERE id = p_user_id FOR NO KEY UPDATE;
  SELECT * INTO v_team FROM teams WHERE id = p_team_id;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', NULL::text, NULL::text; RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM team_members WHERE user_id = p_user_id) THEN
    RETURN QUERY SELECT 'in_a_team', NULL::text, NULL::text; RETURN;
  END IF;
  IF v_team.member_count >= v_team.max_size THEN
    RETURN QUERY SELECT 'full', NULL::text, NULL::text; RETURN;
  END IF;
  SELECT user_id INTO v_owner FROM team_members WHERE team_id = p_team_id AND role = 'OWNER';
  BEGIN
    INSERT INTO join_requests (id, team_id, user_id, message) VALUES (v_id, p_team_id, p_user_id, p_message);
  EXCEPTION
    -- join_requests_one_pending_key: this user's PENDING request to this team exists.
    WHEN unique_violation THEN RETURN QUERY SELECT 'duplicate', NULL::text, NULL::text; RETURN;
    -- The team was disbanded since it was read.
    WHEN foreign_key_violation THEN RETURN QUERY SELECT 'not_found', NULL::text, NULL::text; RETURN;
  END;
  RETURN QUERY SELECT 'requested', v_id, v_owner;
END
$$;

-- team_respond: the owner (p_viewer_id) accepts or rejects a PENDING request. Outcomes:
-- 'accepted' (with the requester's other PENDING requests that were withdrawn, their teams and
-- those teams' owners), 'rejected', 'joined_elsewhere' (the requester is in a team: the request
-- is WITHDRAWN), 'full' (nothing written, the request stays PENDING), 'not_pending' (with the
-- status), 'forbidden' (the viewer is the requester, or no longer the owner), 'not_found' (the
-- request is not the viewer's to see, or gone).
CREATE FUNCTION team_respond(p_request_id TEXT, p_viewer_id TEXT, p_accept BOOLEAN)
RETURNS TABLE ("outcome" TEXT, "teamId" TEXT, "userId" TEXT, "requestStatus" TEXT,
               "withdrawnIds" TEXT[], "withdrawnTeamIds" TEXT[], "withdrawnOwnerIds" TEXT[])
LANGUAGE plpgsql AS $$
DECLARE
  v_request join_requests%ROWTYPE;
  v_team teams%ROWTYPE;
  v_owner TEXT;
BEGIN
  SELECT * INTO v_request FROM join_requests WHERE id = p_request_id;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', NULL::text, NULL::text, NULL::text, NULL::text[], NULL::text[], NULL::text[]; RETURN;
  END IF;
  SELECT user_id INTO v_owner FROM team_members WHERE team_id = v_request.team_id AND role = 'OWNER';
  IF v_owner IS DISTINCT FROM p_viewer_id THEN
    RETURN QUERY SELECT CASE WHEN v_request.user_id = p_viewer_id THEN 'forbidden' ELSE 'not_found' END,
      NULL::text, NULL::text, NULL::text, NULL::text[], NULL::text[], NULL::text[];
    RETURN;
  END IF;
  IF p_accept THEN
    PERFORM 1 FROM users WHERE id = v_request.user_id FOR NO KEY UPDATE;
  END IF;
  SELECT * INTO v_team FROM teams WHERE id = v_request.team_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', NULL::text, NULL::text, NULL::text, NULL::text[], NULL::text[], NULL::text[]; RETURN;
  END IF;
  -- Under the team's lock: the ownership may have moved meanwhile.
  SELECT user_id INTO v_owner FROM team_members WHERE team_id = v_team.id AND role = 'OWNER';
  IF v_owner IS DISTINCT FROM p_viewer_id THEN
    RETURN QUERY SELECT 'forbidden', NULL::text, NULL::text, NULL::text, NULL::text[], NULL::text[], NULL::text[]; RETURN;
  END IF;
  SELECT * INTO v_request FROM join_requests WHERE id = p_request_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', NULL::text, NULL::text, NULL::text, NULL::text[], NULL::text[], NULL::text[]; RETURN;
  END IF;
  IF v_request.status <> 'PENDING' THEN
    RETURN QUERY SELECT 'not_pending', v_team.id, v_request.user_id, v_request.status::text, NULL::text[], NULL::text[], NULL::text[];
    RETURN;
  END IF;
  IF NOT p_accept THEN
    UPDATE join_requests SET status = 'REJECTED', decided_at = now() WHERE id = p_request_id;
    RETURN QUERY SELECT 'rejected', v_team.id, v_request.user_id, 'REJECTED', NULL::text[], NULL::text[], NULL::text[];
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM team_members WHERE user_id = v_request.user_id) THEN
    UPDATE join_requests SET status = 'WITHDRAWN', decided_at = now() WHERE id = p_request_id;
    RETURN QUERY SELECT 'joined_elsewhere', v_team.id, v_request.user_id, 'WITHDRAWN', NULL::text[], NULL::text[], NULL::text[];
    RETURN;
  END IF;
  IF v_team.member_count >= v_team.max_size THEN
    RETURN QUERY SELECT 'full', v_team.id, v_request.user_id, 'PENDING', NULL::text[], NULL::text[], NULL::text[]; RETURN;
  END IF;
  UPDATE teams SET member_count = member_count + 1, updated_at = now() WHERE id = v_team.id;
  INSERT INTO team_members (team_id, user_id, role) VALUES (v_team.id, v_request.user_id, 'MEMBER');
  UPDATE join_requests SET status = 'ACCEPTED', decided_at = now() WHERE id = p_request_id;
  -- Joining withdraws the requester's other PENDING requests.
  RETURN QUERY
    WITH withdrawn AS (
      UPDATE join_requests r SET status = 'WITHDRAWN', decided_at = now()
        FROM team_members o
       WHERE r.user_id = v_request.user_id AND r.status = 'PENDING' AND r.id <> p_request_id
         AND o.team_id = r.team_id AND o.role = 'OWNER'
      RETURNING r.id, r.team_id, o.user_id
    )
    SELECT 'accepted', v_team.id, v_request.user_id, 'ACCEPTED',
           coalesce(array_agg(w.id), '{}'), coalesce(array_agg(w.team_id), '{}'), coalesce(array_agg(w.user_id), '{}')
      FROM withdrawn w;
END
$$;
