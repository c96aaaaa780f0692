export type ReservationState = 'PENDING' | 'ACTIVE' | 'COMMITTED' | 'RELEASED' | 'EXPIRED' | 'FAILED';
export const RESERVATION_STATES = ['PENDING', 'ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED', 'FAILED'] as const satisfies readonly ReservationState[];

export interface ReservationAllocation {
  readonly locationCode: string;
  readonly quantity: number;
}

export interface ReservationLine {
  readonly skuCode: string;
  readonly quantity: number;
  readonly allocations: readonly ReservationAllocation[];
}

export interface ReservationRecord {
  readonly id: string;
  readonly channelCode: string;
  readonly orderRef: string | null;
  readonly state: ReservationState;
  /**
   * A transition in progress (commit or release), recorded before the positions are touched so that a retry
   * or the sweeper can finish it after a crash. Null when none is.
   */
  readonly pending: 'COMMIT' | 'RELEASE' | 'EXPIRE' | 'ROLLBACK' | null;
  readonly apiKeyId: string;
  readonly apiKey: string;
  readonly expiresAt: Date;
  readonly lines: readonly ReservationLine[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface InsufficientStockErrorValue {
  readonly errorCode: 'INSUFFICIENT_STOCK';
  readonly message: string;
  readonly skuCode: string;
  readonly requested: number;
  readonly available: number;
}

export interface ReservationNotActiveErrorValue {
  readonly errorCode: 'RESERVATION_NOT_ACTIVE';
  readonly message: string;
  readonly reservationId: string;
  readonly state: ReservationState;
}
