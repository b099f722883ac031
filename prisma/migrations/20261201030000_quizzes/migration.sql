-- Quizzes (docs/invariants.md, "Quizzes"): every rule that must hold under concurrency is held
-- here — registrations within maxTeams (one seat row per place, made when the quiz opens, each
-- taken once),
-- one OPEN assignment per team (a partial unique index), each question to one team ever (the
-- question's `assigned` flag, set once, and a unique index on the question within its quiz),
-- points never negative (a CHECK).

-- CreateEnum
CREATE TYPE "QuizStatus" AS ENUM ('DRAFT', 'OPEN', 'LIVE', 'ENDED');

-- CreateEnum
CREATE TYPE "Difficulty" AS ENUM ('EASY', 'MEDIUM', 'HARD');

-- CreateEnum
CREATE TYPE "AssignmentStatus" AS ENUM ('OPEN', 'CORRECT', 'WRONG', 'EXPIRED');

-- CreateTable
CREATE TABLE "quizzes" (
    "id" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "status" "QuizStatus" NOT NULL DEFAULT 'DRAFT',
    "max_teams" INTEGER NOT NULL,
    "duration_seconds" INTEGER NOT NULL,
    "question_time_limit_seconds" INTEGER NOT NULL,
    "starting_points" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(3),
    "ends_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "quizzes_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "quizzes_max_teams_check" CHECK ("max_teams" BETWEEN 2 AND 10000),
    CONSTRAINT "quizzes_duration_seconds_check" CHECK ("duration_seconds" BETWEEN 5 AND 86400),
    CONSTRAINT "quizzes_question_time_limit_seconds_check" CHECK ("question_time_limit_seconds" BETWEEN 1 AND 3600),
    CONSTRAINT "quizzes_starting_points_check" CHECK ("starting_points" BETWEEN 0 AND 1000000),
    -- A LIVE or ENDED quiz has started and has its end.
    CONSTRAINT "quizzes_started_check" CHECK (("status" IN ('DRAFT', 'OPEN')) = ("started_at" IS NULL AND "ends_at" IS NULL))
);

-- CreateTable
CREATE TABLE "quiz_questions" (
    "id" TEXT NOT NULL,
    "quiz_id" TEXT NOT NULL,
    "difficulty" "Difficulty" NOT NULL,
    "prompt" TEXT NOT NULL,
    "choices" TEXT[],
    "answer_index" INTEGER NOT NULL,
    "assigned" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "quiz_questions_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "quiz_questions_choices_check" CHECK (cardinality("choices") BETWEEN 2 AND 6),
    CONSTRAINT "quiz_questions_answer_index_check" CHECK ("answer_index" >= 0 AND "answer_index" < cardinality("choices"))
);

-- CreateTable: the places of an OPEN quiz, max_teams of them, made when it opens; a registration
-- takes a free one (team_id set once, never cleared), so there are never more than max_teams.
CREATE TABLE "quiz_seats" (
    "quiz_id" TEXT NOT NULL,
    "seat" INTEGER NOT NULL,
    "team_id" TEXT,

    CONSTRAINT "quiz_seats_pkey" PRIMARY KEY ("quiz_id","seat")
);

-- CreateTable
CREATE TABLE "quiz_registrations" (
    "quiz_id" TEXT NOT NULL,
    "team_id" TEXT NOT NULL,
    "seat" INTEGER NOT NULL,
    "points" INTEGER NOT NULL,
    "points_changed_at" TIMESTAMPTZ(3) NOT NULL,
    "registered_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "correct_answers" INTEGER NOT NULL DEFAULT 0,
    "answered" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "quiz_registrations_pkey" PRIMARY KEY ("quiz_id","team_id"),
    CONSTRAINT "quiz_registrations_points_check" CHECK ("points" >= 0),
    CONSTRAINT "quiz_registrations_answers_check" CHECK ("correct_answers" BETWEEN 0 AND "answered")
);

-- CreateTable
CREATE TABLE "question_assignments" (
    "id" TEXT NOT NULL,
    "quiz_id" TEXT NOT NULL,
    "team_id" TEXT NOT NULL,
    "question_id" TEXT NOT NULL,
    "status" "AssignmentStatus" NOT NULL DEFAULT 'OPEN',
    "cost" INTEGER NOT NULL,
    "points_awarded" INTEGER NOT NULL DEFAULT 0,
    "choice_index" INTEGER,
    "assigned_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deadline" TIMESTAMPTZ(3) NOT NULL,
    "answered_at" TIMESTAMPTZ(3),

    CONSTRAINT "question_assignments_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "question_assignments_cost_check" CHECK ("cost" IN (10, 20, 30)),
    CONSTRAINT "question_assignments_points_awarded_check"
      CHECK ("points_awarded" = CASE WHEN "status" = 'CORRECT' THEN 2 * "cost" ELSE 0 END)
);

-- CreateIndex
CREATE INDEX "quizzes_created_at_id_idx" ON "quizzes"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "quizzes_status_created_at_id_idx" ON "quizzes"("status", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "quiz_questions_unassigned_idx" ON "quiz_questions"("quiz_id", "difficulty", "id") WHERE NOT assigned;

-- CreateIndex
CREATE UNIQUE INDEX "quiz_seats_quiz_id_team_id_key" ON "quiz_seats"("quiz_id", "team_id");

-- CreateIndex
CREATE INDEX "quiz_seats_free_idx" ON "quiz_seats"("quiz_id", "seat") WHERE team_id IS NULL;

-- CreateIndex
CREATE UNIQUE INDEX "quiz_registrations_quiz_id_seat_key" ON "quiz_registrations"("quiz_id", "seat");

-- CreateIndex
CREATE INDEX "quiz_registrations_standings_idx" ON "quiz_registrations"("quiz_id", "points" DESC, "points_changed_at", "registered_at", "team_id");

-- CreateIndex
CREATE INDEX "quiz_registrations_team_id_idx" ON "quiz_registrations"("team_id");

-- CreateIndex
CREATE UNIQUE INDEX "question_assignments_quiz_id_question_id_key" ON "question_assignments"("quiz_id", "question_id");

-- CreateIndex
CREATE UNIQUE INDEX "question_assignments_one_open_key" ON "question_assignments"("quiz_id", "team_id") WHERE status = 'OPEN';

-- CreateIndex
CREATE INDEX "question_assignments_quiz_id_team_id_assigned_at_idx" ON "question_assignments"("quiz_id", "team_id", "assigned_at");

-- AddForeignKey
ALTER TABLE "quiz_questions" ADD CONSTRAINT "quiz_questions_quiz_id_fkey" FOREIGN KEY ("quiz_id") REFERENCES "quizzes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "quiz_seats" ADD CONSTRAINT "quiz_seats_quiz_id_fkey" FOREIGN KEY ("quiz_id") REFERENCES "quizzes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "quiz_seats" ADD CONSTRAINT "quiz_seats_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey: through the seat, which refers to the quiz; no key of the quiz itself, whose row every
-- registration would otherwise lock (KEY SHARE) — the hot row of an open quiz.
ALTER TABLE "quiz_registrations" ADD CONSTRAINT "quiz_registrations_quiz_id_seat_fkey" FOREIGN KEY ("quiz_id", "seat") REFERENCES "quiz_seats"("quiz_id", "seat") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "quiz_registrations" ADD CONSTRAINT "quiz_registrations_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey: through the registration, which refers to the quiz; no key of the quiz itself, whose row every
-- new assignment would otherwise lock (KEY SHARE) — the hot row of a live quiz.
ALTER TABLE "question_assignments" ADD CONSTRAINT "question_assignments_quiz_id_team_id_fkey" FOREIGN KEY ("quiz_id", "team_id") REFERENCES "quiz_registrations"("quiz_id", "team_id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "question_assignments" ADD CONSTRAINT "question_assignments_question_id_fkey" FOREIGN KEY ("question_id") REFERENCES "quiz_questions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The writes of a quiz's play, each one call (as team_request_to_join): the locks are taken and
-- released inside one statement, always in this order — the team's registration, then an
-- assignment or a question. No play locks the quiz's row, which every play of a live quiz reads:
-- the quiz's status is read after the registration's lock is held, and the end takes every
-- registration's lock before it writes ENDED, so it waits for the plays in flight and the plays
-- after it see ENDED. Outcomes are returned, not raised: the service turns them into the
-- contract's errors. Time is judged with clock_timestamp() once the locks are held.

-- quiz_register: 'registered', or 'team_not_found', 'forbidden' (not the team's owner),
-- 'not_found' (no quiz, or a DRAFT for a non-admin), 'not_open', 'already', 'full'. The team takes a
-- free seat: SKIP LOCKED, so registrations of one quiz neither wait on each other nor on its row;
-- quiz_start locks every seat before the quiz goes LIVE, so the status read after the seat's lock
-- is the one that counts.
CREATE FUNCTION quiz_register(p_quiz_id TEXT, p_team_id TEXT, p_viewer_id TEXT, p_admin BOOLEAN)
RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
  v_quiz quizzes%ROWTYPE;
  v_role "TeamRole";
  v_seat INTEGER;
BEGIN
  PERFORM 1 FROM teams WHERE id = p_team_id;
  IF NOT FOUND THEN RETURN 'team_not_found'; END IF;
  SELECT role INTO v_role FROM team_members WHERE team_id = p_team_id AND user_id = p_viewer_id;
  IF v_role IS DISTINCT FROM 'OWNER' THEN RETURN 'forbidden'; END IF;
  SELECT * INTO v_quiz FROM quizzes WHERE id = p_quiz_id;
  IF NOT FOUND OR (v_quiz.status = 'DRAFT' AND NOT p_admin) THEN RETURN 'not_found'; END IF;
  IF v_quiz.status <> 'OPEN' THEN RETURN 'not_open'; END IF;
  IF EXISTS (SELECT 1 FROM quiz_registrations WHERE quiz_id = p_quiz_id AND team_id = p_team_id) THEN
    RETURN 'already';
  END IF;
  SELECT seat INTO v_seat FROM quiz_seats WHERE quiz_id = p_quiz_id AND team_id IS NULL
   ORDER BY seat LIMIT 1 FOR UPDATE SKIP LOCKED;
  IF v_seat IS NULL THEN
    -- Every free seat is being taken (or the start holds them all): wait for one, rather than answer
    -- 'full' while a registration that will give its seat back is in flight.
    SELECT seat INTO v_seat FROM quiz_seats WHERE quiz_id = p_quiz_id AND team_id IS NULL
     ORDER BY seat LIMIT 1 FOR UPDATE;
  END IF;
  -- Under the seat's lock: a quiz that went LIVE meanwhile reads LIVE here.
  IF (SELECT status FROM quizzes WHERE id = p_quiz_id) <> 'OPEN' THEN RETURN 'not_open'; END IF;
  IF v_seat IS NULL THEN RETURN 'full'; END IF;
  BEGIN
    UPDATE quiz_seats SET team_id = p_team_id WHERE quiz_id = p_quiz_id AND seat = v_seat;
    INSERT INTO quiz_registrations (quiz_id, team_id, seat, points, points_changed_at, registered_at)
      VALUES (p_quiz_id, p_team_id, v_seat, v_quiz.starting_points, clock_timestamp(), clock_timestamp());
  EXCEPTION
    -- The same team registering twice at once: the second finds the first's seat or registration.
    WHEN unique_violation THEN RETURN 'already';
    -- The team was disbanded since it was read.
    WHEN foreign_key_violation THEN RETURN 'team_not_found';
  END;
  RETURN 'registered';
END
$$;

-- quiz_open: DRAFT → OPEN with its max_teams seats; false when it was not a DRAFT.
CREATE FUNCTION quiz_open(p_quiz_id TEXT)
RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
DECLARE
  v_max INTEGER;
BEGIN
  UPDATE quizzes SET status = 'OPEN', updated_at = now() WHERE id = p_quiz_id AND status = 'DRAFT'
    RETURNING max_teams INTO v_max;
  IF NOT FOUND THEN RETURN false; END IF;
  INSERT INTO quiz_seats (quiz_id, seat) SELECT p_quiz_id, n FROM generate_series(1, v_max) AS n;
  RETURN true;
END
$$;

-- quiz_start: OPEN → LIVE, endsAt = now + duration; NULL when it was not OPEN. Every seat's lock
-- first: the registrations in flight finish before it, and the ones after it read LIVE.
CREATE FUNCTION quiz_start(p_quiz_id TEXT)
RETURNS TIMESTAMPTZ
LANGUAGE plpgsql AS $$
DECLARE
  v_ends TIMESTAMPTZ;
  v_now TIMESTAMPTZ;
BEGIN
  PERFORM 1 FROM quizzes WHERE id = p_quiz_id AND status = 'OPEN' FOR UPDATE;
  IF NOT FOUND THEN RETURN NULL; END IF;
  PERFORM 1 FROM quiz_seats WHERE quiz_id = p_quiz_id ORDER BY seat FOR UPDATE;
  -- After the registrations in flight: every one of them registered before this.
  v_now := clock_timestamp();
  UPDATE quizzes SET status = 'LIVE', started_at = v_now, updated_at = v_now,
         ends_at = v_now + make_interval(secs => duration_seconds)
   WHERE id = p_quiz_id RETURNING ends_at INTO v_ends;
  RETURN v_ends;
END
$$;

-- quiz_request_question: 'assigned' (with the assignment), or 'not_found', 'not_live', 'no_team'
-- (the viewer is in no team, or its team is not registered), 'open' (the team holds an OPEN
-- assignment before its deadline), 'insufficient', 'none_left'. An OPEN assignment past its
-- deadline is EXPIRED on the way, whatever the outcome after it.
CREATE FUNCTION quiz_request_question(p_quiz_id TEXT, p_viewer_id TEXT, p_admin BOOLEAN, p_difficulty "Difficulty", p_cost INTEGER)
RETURNS TABLE ("outcome" TEXT, "assignmentId" TEXT, "teamId" TEXT)
LANGUAGE plpgsql AS $$
DECLARE
  v_quiz quizzes%ROWTYPE;
  v_team TEXT;
  v_points INTEGER;
  v_open question_assignments%ROWTYPE;
  v_question TEXT;
  v_now TIMESTAMPTZ;
  v_id TEXT := gen_random_uuid()::text;
BEGIN
  SELECT team_id INTO v_team FROM team_members WHERE user_id = p_viewer_id;
  IF v_team IS NOT NULL THEN
    SELECT points INTO v_points FROM quiz_registrations WHERE quiz_id = p_quiz_id AND team_id = v_team FOR NO KEY UPDATE;
  END IF;
  -- After the registration's lock: a quiz that ended meanwhile reads ENDED here.
  SELECT * INTO v_quiz FROM quizzes WHERE id = p_quiz_id;
  IF NOT FOUND OR (v_quiz.status = 'DRAFT' AND NOT p_admin) THEN
    RETURN QUERY SELECT 'not_found', NULL::text, NULL::text; RETURN;
  END IF;
  v_now := clock_timestamp();
  IF v_quiz.status <> 'LIVE' OR v_now >= v_quiz.ends_at THEN
    RETURN QUERY SELECT 'not_live', NULL::text, v_team; RETURN;
  END IF;
  IF v_points IS NULL THEN
    RETURN QUERY SELECT 'no_team', NULL::text, v_team; RETURN;
  END IF;
  SELECT * INTO v_open FROM question_assignments WHERE quiz_id = p_quiz_id AND team_id = v_team AND status = 'OPEN' FOR UPDATE;
  IF FOUND THEN
    IF v_now < v_open.deadline THEN
      RETURN QUERY SELECT 'open', v_open.id, v_team; RETURN;
    END IF;
    UPDATE question_assignments SET status = 'EXPIRED' WHERE id = v_open.id;
  END IF;
  IF v_points < p_cost THEN
    RETURN QUERY SELECT 'insufficient', NULL::text, v_team; RETURN;
  END IF;
  -- Rows another team is taking right now are skipped, not waited for: no two teams get one question.
  SELECT id INTO v_question FROM quiz_questions
   WHERE quiz_id = p_quiz_id AND difficulty = p_difficulty AND NOT assigned
   ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED;
  IF v_question IS NULL THEN
    RETURN QUERY SELECT 'none_left', NULL::text, v_team; RETURN;
  END IF;
  UPDATE quiz_questions SET assigned = true WHERE id = v_question;
  UPDATE quiz_registrations SET points = points - p_cost, points_changed_at = v_now
   WHERE quiz_id = p_quiz_id AND team_id = v_team;
  INSERT INTO question_assignments (id, quiz_id, team_id, question_id, cost, assigned_at, deadline)
    VALUES (v_id, p_quiz_id, v_team, v_question, p_cost, v_now,
            v_now + make_interval(secs => v_quiz.question_time_limit_seconds));
  RETURN QUERY SELECT 'assigned', v_id, v_team;
END
$$;

-- quiz_submit_answer: 'judged' (CORRECT, WRONG, or EXPIRED at or after the deadline), or
-- 'not_found' (no assignment, or not of the viewer's team), 'bad_choice' (no such choice),
-- 'not_live', 'answered' (not OPEN any more, with its status).
CREATE FUNCTION quiz_submit_answer(p_assignment_id TEXT, p_viewer_id TEXT, p_choice INTEGER)
RETURNS TABLE ("outcome" TEXT, "quizId" TEXT, "status" TEXT)
LANGUAGE plpgsql AS $$
DECLARE
  v_assignment question_assignments%ROWTYPE;
  v_quiz quizzes%ROWTYPE;
  v_question quiz_questions%ROWTYPE;
  v_now TIMESTAMPTZ;
  v_status "AssignmentStatus";
BEGIN
  SELECT * INTO v_assignment FROM question_assignments WHERE id = p_assignment_id;
  IF NOT FOUND OR NOT EXISTS (
    SELECT 1 FROM team_members WHERE team_id = v_assignment.team_id AND user_id = p_viewer_id
  ) THEN
    RETURN QUERY SELECT 'not_found', NULL::text, NULL::text; RETURN;
  END IF;
  SELECT * INTO v_question FROM quiz_questions WHERE id = v_assignment.question_id;
  IF p_choice >= cardinality(v_question.choices) THEN
    RETURN QUERY SELECT 'bad_choice', v_assignment.quiz_id, NULL::text; RETURN;
  END IF;
  PERFORM 1 FROM quiz_registrations WHERE quiz_id = v_assignment.quiz_id AND team_id = v_assignment.team_id FOR NO KEY UPDATE;
  -- After the registration's lock: a quiz that ended meanwhile reads ENDED here.
  SELECT * INTO v_quiz FROM quizzes WHERE id = v_assignment.quiz_id;
  SELECT * INTO v_assignment FROM question_assignments WHERE id = p_assignment_id FOR UPDATE;
  v_now := clock_timestamp();
  IF v_quiz.status <> 'LIVE' OR v_now >= v_quiz.ends_at THEN
    RETURN QUERY SELECT 'not_live', v_quiz.id, v_assignment.status::text; RETURN;
  END IF;
  IF v_assignment.status <> 'OPEN' THEN
    RETURN QUERY SELECT 'answered', v_quiz.id, v_assignment.status::text; RETURN;
  END IF;
  v_status := CASE
    WHEN v_now >= v_assignment.deadline THEN 'EXPIRED'
    WHEN p_choice = v_question.answer_index THEN 'CORRECT'
    ELSE 'WRONG' END;
  UPDATE question_assignments
     SET status = v_status, choice_index = p_choice, answered_at = v_now,
         points_awarded = CASE WHEN v_status = 'CORRECT' THEN 2 * cost ELSE 0 END
   WHERE id = p_assignment_id;
  IF v_status = 'CORRECT' THEN
    UPDATE quiz_registrations
       SET points = points + 2 * v_assignment.cost, points_changed_at = v_now,
           correct_answers = correct_answers + 1, answered = answered + 1
     WHERE quiz_id = v_quiz.id AND team_id = v_assignment.team_id;
  ELSIF v_status = 'WRONG' THEN
    UPDATE quiz_registrations SET answered = answered + 1
     WHERE quiz_id = v_quiz.id AND team_id = v_assignment.team_id;
  END IF;
  RETURN QUERY SELECT 'judged', v_quiz.id, v_status::text;
END
$$;

-- quiz_end: 'ended' (it was LIVE: now ENDED, its OPEN assignments EXPIRED), or 'not_found',
-- 'already' (ENDED before), 'not_live' (DRAFT or OPEN), 'not_due' (p_due_only and endsAt is
-- still ahead: the end job came early). Every registration's lock, taken in team order, waits for
-- the plays in flight and holds back the next ones until the end has committed.
CREATE FUNCTION quiz_end(p_quiz_id TEXT, p_due_only BOOLEAN)
RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
  v_quiz quizzes%ROWTYPE;
  v_now TIMESTAMPTZ;
BEGIN
  SELECT * INTO v_quiz FROM quizzes WHERE id = p_quiz_id FOR UPDATE;
  IF NOT FOUND THEN RETURN 'not_found'; END IF;
  IF v_quiz.status = 'ENDED' THEN RETURN 'already'; END IF;
  IF v_quiz.status <> 'LIVE' THEN RETURN 'not_live'; END IF;
  IF p_due_only AND clock_timestamp() < v_quiz.ends_at THEN RETURN 'not_due'; END IF;
  PERFORM 1 FROM quiz_registrations WHERE quiz_id = p_quiz_id ORDER BY team_id FOR NO KEY UPDATE;
  -- After the plays in flight: every one of them was judged before this.
  v_now := clock_timestamp();
  UPDATE quizzes SET status = 'ENDED', ends_at = LEAST(ends_at, v_now), updated_at = now() WHERE id = p_quiz_id;
  UPDATE question_assignments SET status = 'EXPIRED' WHERE quiz_id = p_quiz_id AND status = 'OPEN';
  RETURN 'ended';
END
$$;
